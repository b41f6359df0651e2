import { decodeEntityName } from './entity-name.js';
import { retrieveProperties, singleObjectSpec } from './property-collector.js';
import { el, moRef, text, type MoRef } from './soap-xml.js';
import { VimFault } from './vim-fault.js';
import type { VimSession } from './vim-session.js';

/** A managed entity found by path or id, with its name. */
export interface FoundEntity {
  readonly ref: MoRef;
  readonly name: string;
}

/** SearchIndex.FindByInventoryPath: `/DC0/vm/pcg`, `/DC0/host/C0/Resources`; undefined when absent. */
export async function findByInventoryPath(session: VimSession, path: string): Promise<MoRef | undefined> {
  const res = await session.call('FindByInventoryPath', el('_this', session.content.searchIndex) + el('inventoryPath', path.replace(/^\//, '')));
  return res.returnval === undefined || res.returnval === '' ? undefined : moRef(res.returnval);
}

/** By managed object id (`datastore-12`, type known); undefined when vCenter has no such object. */
export async function findById(session: VimSession, type: string, id: string): Promise<FoundEntity | undefined> {
  try {
    const [content] = await retrieveProperties(session, [{ type, paths: ['name'] }], singleObjectSpec({ type, value: id }));
    return content ? { ref: content.obj, name: decodeEntityName(text(content.props.name)) } : undefined;
  } catch (err) {
    if (err instanceof VimFault && err.is('ManagedObjectNotFound')) return undefined;
    throw err;
  }
}
