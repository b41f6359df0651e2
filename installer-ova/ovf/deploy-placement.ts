import { PcgError } from '../../proto/errors.js';
import { decodeEntityName } from '../../gateway/vsphere/entity-name.js';
import { findByInventoryPath } from '../../gateway/vsphere/finder.js';
import { retrieveProperties, singleObjectSpec } from '../../gateway/vsphere/property-collector.js';
import { moRef, text, toArray, type MoRef } from '../../gateway/vsphere/soap-xml.js';
import type { VimSession } from '../../gateway/vsphere/vim-session.js';

/** Where the admin asked the appliance to go, by name as the vSphere Client shows them. */
export interface PlacementRequest {
  readonly datacenter: string;
  /** A cluster or standalone host (its root resource pool); optional when the datacenter has one. */
  readonly cluster?: string | undefined;
  /** Optional when the datacenter has one datastore. */
  readonly datastore?: string | undefined;
  /** Optional: vCenter then picks the network for the NIC. */
  readonly network?: string | undefined;
  /** A path under the datacenter's VM folder; its root by default. */
  readonly folder?: string | undefined;
}

export interface Placement {
  readonly resourcePool: MoRef;
  readonly datastore: MoRef;
  readonly folder: MoRef;
  /** The folder's inventory path (`/DC0/vm/pcg`): where to look for the VM by name. */
  readonly folderPath: string;
  readonly network: MoRef | undefined;
}

const flag = (name: string, message: string): PcgError => new PcgError('PCG_ERR_CONFIG_INVALID', `--${name}: ${message}`);
const morefs = (val: unknown): MoRef[] => toArray((val as { ManagedObjectReference?: unknown } | undefined)?.ManagedObjectReference).map(moRef);

async function propsOf(session: VimSession, obj: MoRef, paths: string[]): Promise<Readonly<Record<string, unknown>>> {
  const [content] = await retrieveProperties(session, [{ type: obj.type, paths }], singleObjectSpec(obj));
  return content?.props ?? {};
}

async function namesOf(session: VimSession, objs: readonly MoRef[]): Promise<Array<{ ref: MoRef; name: string }>> {
  if (objs.length === 0) return [];
  const types = [...new Set(objs.map((o) => o.type))];
  const contents = await retrieveProperties(session, types.map((type) => ({ type, paths: ['name'] })), objs.map(singleObjectSpec).join(''));
  return contents.map((c) => ({ ref: c.obj, name: decodeEntityName(text(c.props.name)) }));
}

/** One of several by the admin's flag, or the only one there is. */
async function pickOne(session: VimSession, what: string, candidates: readonly MoRef[], datacenter: string): Promise<MoRef> {
  if (candidates.length === 1) return candidates[0]!;
  const names = (await namesOf(session, candidates)).map((n) => n.name).sort();
  throw flag(what, names.length === 0 ? `datacenter ${datacenter} has none` : `datacenter ${datacenter} has ${names.length} (${names.join(', ')}): name one`);
}

/**
 * Turns the admin's names into the objects CreateImportSpec and ImportVApp take, through
 * inventory paths (`/DC0/host/C0`, `/DC0/datastore/ds1`), as govc resolves them.
 */
export async function resolvePlacement(session: VimSession, request: PlacementRequest): Promise<Placement> {
  const dcPath = `/${request.datacenter.replace(/^\/+|\/+$/g, '')}`;
  const dc = await findByInventoryPath(session, dcPath);
  if (!dc || dc.type !== 'Datacenter') throw flag('datacenter', `no datacenter at ${dcPath}`);
  const dcProps = await propsOf(session, dc, ['vmFolder', 'hostFolder', 'datastore']);

  let compute: MoRef;
  if (request.cluster) {
    const found = await findByInventoryPath(session, `${dcPath}/host/${request.cluster}`);
    if (!found || !/ComputeResource$/.test(found.type)) throw flag('cluster', `no cluster or host named ${request.cluster} in ${request.datacenter}`);
    compute = found;
  } else {
    const children = morefs((await propsOf(session, moRef(dcProps.hostFolder), ['childEntity'])).childEntity);
    compute = await pickOne(session, 'cluster', children.filter((c) => /ComputeResource$/.test(c.type)), request.datacenter);
  }
  const resourcePool = moRef((await propsOf(session, compute, ['resourcePool'])).resourcePool);

  let datastore: MoRef;
  if (request.datastore) {
    const found = await findByInventoryPath(session, `${dcPath}/datastore/${request.datastore}`);
    if (!found || found.type !== 'Datastore') throw flag('datastore', `no datastore named ${request.datastore} in ${request.datacenter}`);
    datastore = found;
  } else {
    datastore = await pickOne(session, 'datastore', morefs(dcProps.datastore), request.datacenter);
  }

  let network: MoRef | undefined;
  if (request.network) {
    network = await findByInventoryPath(session, `${dcPath}/network/${request.network}`);
    if (!network || !/Network$|Portgroup$/.test(network.type)) throw flag('network', `no network named ${request.network} in ${request.datacenter}`);
  }

  let folder = moRef(dcProps.vmFolder);
  let folderPath = `${dcPath}/vm`;
  if (request.folder) {
    folderPath = `${dcPath}/vm/${request.folder.replace(/^\/+|\/+$/g, '')}`;
    const found = await findByInventoryPath(session, folderPath);
    if (!found || found.type !== 'Folder') throw flag('folder', `no VM folder ${request.folder} in ${request.datacenter}`);
    folder = found;
  }
  return { resourcePool, datastore, folder, folderPath, network };
}
