import { PcgError } from '../../proto/errors.js';
import { parsedToXml } from './parsed-xml.js';
import { el, moRef, raw, text, toArray, xsiType, type MoRef } from './soap-xml.js';
import type { VimCaller } from './vim-caller.js';

/** What CreateImportSpec is asked: the descriptor, where the VM goes, and the admin's answers. */
export interface ImportSpecRequest {
  /** The .ovf as text. */
  readonly descriptor: string;
  readonly resourcePool: MoRef;
  readonly datastore: MoRef;
  /** The VM's name. */
  readonly entityName: string;
  /** The host for the VM, when the pool's cluster needs one named. */
  readonly host?: MoRef | undefined;
  /** OVF network name (NetworkSection) → vSphere network. */
  readonly networkMapping?: ReadonlyArray<{ readonly name: string; readonly network: MoRef }>;
  /** vApp property key → value. */
  readonly propertyMapping?: ReadonlyArray<{ readonly key: string; readonly value: string }>;
  /** @default 'thin' */
  readonly diskProvisioning?: 'thin' | 'thick' | 'eagerZeroedThick' | 'flat' | 'monolithicSparse' | 'sparse';
}

/** A file the import needs uploaded: `deviceId` matches a lease deviceUrl's importKey. */
export interface ImportFileItem {
  readonly deviceId: string;
  /** The file's name in the OVF (References href). */
  readonly path: string;
  readonly size: number | undefined;
  /** true: a file to create (an ISO, PUT); false: a disk stream (POST). */
  readonly create: boolean;
}

export interface ImportSpec {
  /** The spec's xsi:type: VirtualMachineImportSpec (or VirtualAppImportSpec for vApps). */
  readonly type: string;
  /** The spec as vCenter wrote it, handed back to ImportVApp unchanged. */
  readonly node: unknown;
  readonly fileItems: readonly ImportFileItem[];
  /** vCenter's warnings (localized messages): the import goes on, the admin should see them. */
  readonly warnings: readonly string[];
}

const SERVICE_INSTANCE: MoRef = { type: 'ServiceInstance', value: 'ServiceInstance' };

/** The OvfManager: in ServiceContent, which the shared parser does not keep. */
export async function ovfManagerOf(session: VimCaller): Promise<MoRef> {
  const res = await session.call('RetrieveServiceContent', el('_this', SERVICE_INSTANCE));
  const ref = (res.returnval as Record<string, unknown> | undefined)?.ovfManager;
  if (!ref) throw new PcgError('PCG_ERR_VCENTER_FAULT', 'this vCenter has no OvfManager: it cannot import OVF');
  return moRef(ref);
}

const messages = (faults: unknown): string[] =>
  toArray(faults as unknown[]).map((f) => {
    const fault = f as { localizedMessage?: unknown; fault?: unknown };
    return text(fault.localizedMessage) || xsiType(fault.fault) || 'unnamed fault';
  });

/**
 * OvfManager.CreateImportSpec: vCenter reads the descriptor against the chosen pool, datastore
 * and network, and answers with the spec to import (or errors: hardware it cannot give, a
 * property value its qualifiers refuse). Errors end the deploy before anything is created.
 */
export async function createImportSpec(session: VimCaller, ovfManager: MoRef, request: ImportSpecRequest): Promise<ImportSpec> {
  // OvfCreateImportSpecParams, in WSDL order: locale and deploymentOption are required (empty:
  // the server's defaults), then entityName, hostSystem, networkMapping, propertyMapping, diskProvisioning.
  const cisp = el('locale', '') + el('deploymentOption', '') + el('entityName', request.entityName) + el('hostSystem', request.host)
    + (request.networkMapping ?? []).map((m) => raw('networkMapping', el('name', m.name) + el('network', m.network))).join('')
    + (request.propertyMapping ?? []).map((p) => raw('propertyMapping', el('key', p.key) + el('value', p.value))).join('')
    + el('diskProvisioning', request.diskProvisioning ?? 'thin');
  const res = await session.call('CreateImportSpec', el('_this', ovfManager) + el('ovfDescriptor', request.descriptor)
    + el('resourcePool', request.resourcePool) + el('datastore', request.datastore) + raw('cisp', cisp));
  const result = (res.returnval ?? {}) as Record<string, unknown>;
  const errors = messages(result.error);
  if (errors.length > 0) throw new PcgError('PCG_ERR_VCENTER_FAULT', `CreateImportSpec: vCenter cannot import this OVF here: ${errors.join('; ')}`);
  const node = result.importSpec;
  const type = xsiType(node);
  if (!node || !type) throw new PcgError('PCG_ERR_VCENTER_FAULT', 'CreateImportSpec: vCenter returned no import spec');
  const fileItems = toArray(result.fileItem as Array<Record<string, unknown>>).map((f) => ({
    deviceId: text(f.deviceId), path: text(f.path),
    size: f.size === undefined ? undefined : Number(text(f.size)), create: text(f.create) === 'true',
  }));
  return { type: type.replace(/^.*:/, ''), node, fileItems, warnings: messages(result.warning) };
}

/**
 * ResourcePool.ImportVApp: creates the VM (powered off, disks empty) and returns the HttpNfcLease
 * through which its disks are uploaded. Until the lease completes the VM is not usable; aborting
 * the lease makes vCenter remove it.
 */
export async function importVApp(session: VimCaller, pool: MoRef, spec: ImportSpec, folder?: MoRef, host?: MoRef): Promise<MoRef> {
  const specXml = parsedToXml('spec', withType(spec.node, spec.type));
  const res = await session.call('ImportVApp', el('_this', pool) + specXml + el('folder', folder) + el('host', host));
  return moRef(res.returnval);
}

/** The spec's own type attribute written as xsi:type (its prefix in the reply may differ). */
function withType(node: unknown, type: string): unknown {
  const entries = Object.entries(node as Record<string, unknown>).filter(([k]) => !(k.startsWith('@_') && k.endsWith(':type')));
  return Object.fromEntries([['@_xsi:type', type], ...entries]);
}
