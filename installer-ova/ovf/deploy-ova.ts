import { basename } from 'node:path';
import { pipeline, Transform } from 'node:stream';
import { PcgError } from '../../proto/errors.js';
import { findById, findByInventoryPath } from '../../gateway/vsphere/finder.js';
import { HttpNfcLease, type LeaseInfo } from '../../gateway/vsphere/http-nfc-lease.js';
import { nfcUpload } from '../../gateway/vsphere/nfc-upload.js';
import { createImportSpec, importVApp, ovfManagerOf, type ImportFileItem } from '../../gateway/vsphere/ovf-import.js';
import type { MoRef } from '../../gateway/vsphere/soap-xml.js';
import type { VcenterTrust } from '../../gateway/vsphere/tls-pinning.js';
import { VimFault } from '../../gateway/vsphere/vim-fault.js';
import type { VimSession } from '../../gateway/vsphere/vim-session.js';
import { VmOperations } from '../../gateway/vsphere/vm-operations.js';
import { resolvePlacement, type PlacementRequest } from './deploy-placement.js';
import { openOvaEntry } from './open-ova-entry.js';
import type { OvfProperty } from './parse-ovf-descriptor.js';
import { readOva, type OvaContents } from './read-ova.js';
import { VerifiedEntryStream, type VerifiedEntry } from './verified-entry-stream.js';

export interface DeployOvaOptions {
  readonly ovaPath: string;
  /** The OVA as readOva verified it, when the caller already did; else it is read here. */
  readonly ova?: OvaContents;
  /** A logged-in session; the caller owns it. */
  readonly session: VimSession;
  /** vCenter's host[:port], what a lease URL's `*` host stands for. */
  readonly vcenterHost: string;
  /** The session's trust, reused for uploads to vCenter's own host. */
  readonly trust: VcenterTrust;
  readonly placement: PlacementRequest;
  /** The VM's name. */
  readonly name: string;
  /** vApp property values the admin gave; the descriptor's defaults fill in the rest. */
  readonly properties: Readonly<Record<string, string>>;
  readonly onEvent?: (event: DeployEvent) => void;
  /** Aborts the deploy; an import already started is aborted in vCenter and its VM removed. */
  readonly signal?: AbortSignal;
  /** How often vCenter hears the upload's progress (which keeps the lease alive). @default 2_000 */
  readonly progressIntervalMs?: number;
}

export type DeployEvent =
  | { readonly step: 'verified'; readonly files: number; readonly bytes: number }
  | { readonly step: 'import-spec'; readonly warnings: readonly string[] }
  | { readonly step: 'lease-ready'; readonly vm: MoRef }
  | { readonly step: 'upload'; readonly file: string; readonly sent: number; readonly total: number }
  | { readonly step: 'aborted'; readonly vmRemoved: boolean };

export interface DeployResult {
  readonly vm: MoRef;
  readonly uploadedBytes: number;
  readonly warnings: readonly string[];
}

/**
 * The value of every property the descriptor declares: the admin's, else the descriptor's default.
 * A key the descriptor does not declare (a typo) or does not let the admin set is refused before
 * vCenter is asked anything; `where` names the flag or file it came from.
 */
export function propertyMapping(declared: readonly OvfProperty[], given: Readonly<Record<string, string>>,
  where: (key: string) => string = (key) => `--prop ${key}`): Array<{ key: string; value: string }> {
  for (const key of Object.keys(given)) {
    const property = declared.find((p) => p.key === key);
    if (!property) throw new PcgError('PCG_ERR_CONFIG_INVALID', `${where(key)}: the OVA declares no such property (it has ${declared.map((p) => p.key).join(', ')})`);
    if (!property.userConfigurable) throw new PcgError('PCG_ERR_CONFIG_INVALID', `${where(key)}: the OVA does not let it be set`);
  }
  return declared.filter((p) => p.userConfigurable).map((p) => ({ key: p.key, value: given[p.key] ?? p.defaultValue }));
}

/**
 * Deploys an OVA as an admin would in the vSphere Client: verify the OVA, CreateImportSpec,
 * ImportVApp, upload each disk to the lease straight from the OVA, HttpNfcLeaseComplete. The
 * upload reads the OVA again: its bytes are hashed on the way and must be the ones verified, or
 * the lease is aborted before it is completed.
 *
 * ```
 *  readOva ─ CreateImportSpec ─ ImportVApp ─ lease ready ─ POST vmdk (progress every 2 s) ─ Complete
 *                                               └──────── any failure: Abort, then remove the VM if it stayed
 * ```
 */
export async function deployOva(options: DeployOvaOptions): Promise<DeployResult> {
  const { session, name, signal } = options;
  const emit = options.onEvent ?? (() => undefined);
  const ova = options.ova ?? await readOva(options.ovaPath);
  emit({ step: 'verified', files: ova.files.length, bytes: ova.files.reduce((n, f) => n + f.size, 0) });
  const mapping = propertyMapping(ova.ovf.properties, options.properties);
  const placement = await resolvePlacement(session, options.placement);
  signal?.throwIfAborted();
  const spec = await createImportSpec(session, await ovfManagerOf(session), {
    descriptor: ova.descriptor, resourcePool: placement.resourcePool, datastore: placement.datastore, entityName: name,
    networkMapping: placement.network ? ova.ovf.networks.map((n) => ({ name: n, network: placement.network! })) : [],
    propertyMapping: mapping, diskProvisioning: 'thin',
  });
  emit({ step: 'import-spec', warnings: spec.warnings });
  signal?.throwIfAborted();
  const lease = new HttpNfcLease(session, await importVApp(session, placement.resourcePool, spec, placement.folder));
  let info: LeaseInfo | undefined;
  try {
    info = await lease.waitReady();
    emit({ step: 'lease-ready', vm: info.entity });
    const uploadedBytes = await uploadAll(options, ova, spec.fileItems, info, lease, emit);
    await lease.complete();
    return { vm: info.entity, uploadedBytes, warnings: spec.warnings };
  } catch (err) {
    // Before the lease is ready its entity is unknown; the name in the folder is ours (ImportVApp
    // refuses a name already taken), so that finds it.
    const vm = info?.entity ?? await findByInventoryPath(session, `${placement.folderPath}/${name}`).catch(() => undefined);
    await lease.abort().catch(() => undefined);
    emit({ step: 'aborted', vmRemoved: vm ? await removeLeftover(session, vm) : true });
    throw err;
  }
}

async function uploadAll(options: DeployOvaOptions, ova: OvaContents, items: readonly ImportFileItem[],
  info: LeaseInfo, lease: HttpNfcLease, emit: (event: DeployEvent) => void): Promise<number> {
  const total = items.reduce((n, item) => n + (ova.files.find((f) => f.name === item.path)?.size ?? 0), 0);
  let sent = 0;
  let reporting: Promise<void> | undefined;
  let reportError: Error | undefined;
  const timer = setInterval(() => {
    // One progress call at a time; a failed one fails the deploy (the lease is gone or going).
    reporting ??= lease.progress(total === 0 ? 0 : (100 * sent) / total).catch((err: unknown) => {
      reportError = err instanceof Error ? err : new Error(String(err));
    }).finally(() => {
      reporting = undefined;
    });
  }, options.progressIntervalMs ?? 2_000);
  try {
    for (const item of items) {
      const device = info.deviceUrls.find((d) => d.importKey === item.deviceId);
      if (!device) throw new PcgError('PCG_ERR_VCENTER_FAULT', `the lease has no URL for ${item.path} (${item.deviceId})`);
      const verified = verifiedEntry(ova, item.path);
      const { stream, size } = await openOvaEntry(options.ovaPath, item.path);
      if (size !== verified.size) {
        stream.destroy();
        throw new PcgError('PCG_ERR_OVA_INVALID', `${verified.ova}: ${item.path} is ${size} bytes now; it had ${verified.size} when verified`);
      }
      const check = new VerifiedEntryStream(verified);
      const counted = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          sent += chunk.length;
          emit({ step: 'upload', file: item.path, sent, total });
          if (reportError) done(reportError);
          else done(null, chunk);
        },
      });
      // Errors go to the end of the chain (the upload's body); nfcUpload reports them.
      pipeline(stream, check, counted, () => undefined);
      try {
        await nfcUpload({
          url: device.url, sslThumbprint: device.sslThumbprint, vcenterHost: options.vcenterHost, trust: options.trust,
          create: item.create, body: counted, size, ...(options.signal ? { signal: options.signal } : {}),
        });
      } catch (err) {
        // The upload failed because the bytes differ: that is the error to report, not the broken-off request.
        throw check.failure ?? err;
      } finally {
        stream.destroy();
      }
      // vCenter had every byte, so the check saw them all; asserted anyway: nothing unverified is completed.
      if (!check.matched) throw check.failure ?? new PcgError('PCG_ERR_OVA_INVALID', `${verified.ova}: ${item.path} was uploaded without its digest being checked`);
    }
    if (reportError) throw reportError;
    return sent;
  } finally {
    clearInterval(timer);
    await reporting;
  }
}

/** The manifest's digest and the size readOva verified for one file of the OVA. */
function verifiedEntry(ova: OvaContents, file: string): VerifiedEntry {
  const entry = ova.manifest.find((m) => m.file === file);
  const read = ova.files.find((f) => f.name === file);
  // readOva refuses a referenced file the manifest does not list; an OvaContents built otherwise is refused here.
  if (!entry || !read) throw new PcgError('PCG_ERR_OVA_INVALID', `${basename(ova.path)}: ${file} was not verified against the manifest ${ova.manifestName}`);
  return { ova: basename(ova.path), file, algorithm: entry.algorithm, digest: entry.digest, size: read.size };
}

/**
 * After an abort vCenter deletes the imported VM itself; vcsim (0.24) leaves it. Either way no
 * half-imported VM may stay: if it is still there, it is destroyed, retried while vCenter is
 * busy with it (its own cleanup may hold it for a moment).
 */
async function removeLeftover(session: VimSession, vm: MoRef): Promise<boolean> {
  const ops = new VmOperations(session);
  for (let attempt = 0; attempt < 10; attempt++) {
    if (!(await findById(session, 'VirtualMachine', vm.value).catch(() => ({ ref: vm, name: '' })))) return true;
    try {
      await ops.destroy(vm, { timeoutMs: 60_000 });
      return true;
    } catch (err) {
      if (err instanceof VimFault && err.is('ManagedObjectNotFound')) return true;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
  return false;
}
