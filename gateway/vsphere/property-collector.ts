import { el, moRef, raw, text, toArray, type MoRef } from './soap-xml.js';
import type { VimSession } from './vim-session.js';

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
 * vCenter pages large results at its own limit (or at `maxObjects`).
 */
export async function retrieveProperties(session: VimSession, requests: readonly PropertyRequest[], objectSetXml: string, maxObjects?: number): Promise<ObjectContent[]> {
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

/** A ContainerView of `types` under `container`, destroyed after `use` whatever happens. */
export async function withContainerView<T>(session: VimSession, container: MoRef, types: readonly string[], use: (view: MoRef) => Promise<T>): Promise<T> {
  const created = await session.call('CreateContainerView', el('_this', session.content.viewManager) + el('container', container)
    + types.map((t) => el('type', t)).join('') + el('recursive', true));
  const view = moRef(created.returnval);
  try {
    return await use(view);
  } finally {
    await session.call('DestroyView', el('_this', view));
  }
}
