import { SessionRenewedError } from './session-renewed-error.js';
import type { SessionScope } from './session-scope.js';
import { el, moRef, raw, text, toArray, type MoRef } from './soap-xml.js';
import type { VimCaller } from './vim-caller.js';

/** One object's requested properties, values as parsed (a moref, a string, or a nested node). */
export interface ObjectContent {
  readonly obj: MoRef;
  readonly props: Readonly<Record<string, unknown>>;
}

export interface PropertyRequest {
  readonly type: string;
  readonly paths: readonly string[];
}

/** PropertySpec: type, all, pathSet — in WSDL order. */
function propertySpecs(requests: readonly PropertyRequest[]): string {
  return requests.map((r) => raw('propSet', el('type', r.type) + el('all', false) + r.paths.map((p) => el('pathSet', p)).join(''))).join('');
}

/**
 * ObjectSpec for everything a ContainerView shows: the view itself is skipped and a TraversalSpec
 * (a polymorphic SelectionSpec, hence xsi:type) walks its `view` property.
 */
export function containerViewObjectSpec(view: MoRef): string {
  const traversal = raw('selectSet', el('name', 'traverseView') + el('type', 'ContainerView') + el('path', 'view') + el('skip', false), 'TraversalSpec');
  return raw('objectSet', el('obj', view) + el('skip', true) + traversal);
}

export function singleObjectSpec(obj: MoRef): string {
  return raw('objectSet', el('obj', obj) + el('skip', false));
}

function parseObjects(returnval: unknown): { objects: ObjectContent[]; token: string | undefined } {
  const rv = (returnval ?? {}) as { token?: unknown; objects?: unknown };
  const objects = toArray(rv.objects as Array<{ obj: unknown; propSet?: unknown }> | undefined).map((o) => ({
    obj: moRef(o.obj),
    props: Object.fromEntries(toArray(o.propSet as Array<{ name: unknown; val: unknown }> | undefined).map((p) => [text(p.name), p.val])),
  }));
  return { objects, token: rv.token === undefined ? undefined : text(rv.token) };
}

/**
 * RetrievePropertiesEx and, while the server hands back a token, ContinueRetrievePropertiesEx:
 * vCenter pages large results at its own limit (or at `maxObjects`). A token belongs to the
 * session that issued it, so when the session is renewed between pages the read starts again
 * from the first page (once): pages of two reads are never mixed, a token is never replayed.
 * Given a SessionScope whose objects (a view in `objectSetXml`) died with the session, the
 * restart fails at once and the scope's owner re-creates them.
 */
export async function retrieveProperties(session: VimCaller, requests: readonly PropertyRequest[], objectSetXml: string, maxObjects?: number): Promise<ObjectContent[]> {
  try {
    return await retrieveAllPages(session, requests, objectSetXml, maxObjects);
  } catch (err) {
    if (!(err instanceof SessionRenewedError)) throw err;
  }
  return retrieveAllPages(session, requests, objectSetXml, maxObjects);
}

async function retrieveAllPages(session: VimCaller, requests: readonly PropertyRequest[], objectSetXml: string, maxObjects: number | undefined): Promise<ObjectContent[]> {
  const collector = session.content.propertyCollector;
  const first = await session.call('RetrievePropertiesEx', el('_this', collector)
    + raw('specSet', propertySpecs(requests) + objectSetXml)
    + raw('options', el('maxObjects', maxObjects)));
  let page = parseObjects(first.returnval);
  const all = [...page.objects];
  while (page.token !== undefined) {
    const next = await session.call('ContinueRetrievePropertiesEx', el('_this', collector) + el('token', page.token));
    page = parseObjects(next.returnval);
    all.push(...page.objects);
  }
  return all;
}

/**
 * A ContainerView of `types` under `container`, destroyed after `use` whatever happens. The view
 * is an object of the scope's session: if that session ends, so does the view (nothing to destroy).
 */
export async function withContainerView<T>(scope: SessionScope, container: MoRef, types: readonly string[], use: (view: MoRef) => Promise<T>): Promise<T> {
  const created = await scope.call('CreateContainerView', el('_this', scope.content.viewManager) + el('container', container)
    + types.map((t) => el('type', t)).join('') + el('recursive', true));
  const view = moRef(created.returnval);
  try {
    return await use(view);
  } finally {
    await scope.callIfLive('DestroyView', view);
  }
}
