import { PcgError } from '../../proto/errors.js';
import { labelTag } from '../../proto/registry/pack-tags.js';
import { parsePackReference, packScope, withRegistry, type PackctlGlobals } from './packctl-context.js';

/** `packctl tag add NAME:VERSION LABEL [--group G]`: points `G__LABEL` (or LABEL) at the version. */
export async function tagAddCommand(ref: string, label: string, options: { readonly group?: string }, globals: PackctlGlobals): Promise<void> {
  const { name, reference } = parsePackReference(ref, 'NAME:VERSION');
  if (reference === undefined) throw new PcgError('PCG_ERR_CONFIG_INVALID', `'${ref}' names no version: NAME:VERSION`);
  const tag = labelTag(label, options.group);
  await withRegistry(globals, [packScope(name, 'pull', 'push')], async (client) => {
    const result = await client.json<{ tag: string; version: string }>('PUT', `/v1/packs/${name}/tags/${encodeURIComponent(tag)}`, {
      body: JSON.stringify({ version: reference }), headers: { 'content-type': 'application/json' },
    });
    process.stdout.write(`tagged ${name}:${result.tag} -> ${result.version}\n`);
  });
}

/** `packctl tag delete NAME LABEL [--group G]`: LABEL may also be the whole tag (`lts__14.4.3`). */
export async function tagDeleteCommand(name: string, label: string, options: { readonly group?: string }, globals: PackctlGlobals): Promise<void> {
  // No client-side check of the kind: the registry says why a version or parent tag stays.
  const tag = options.group !== undefined ? `${options.group}__${label}` : label;
  await withRegistry(globals, [packScope(name, 'delete')], async (client) => {
    await client.json('DELETE', `/v1/packs/${name}/tags/${encodeURIComponent(tag)}`);
    process.stdout.write(`deleted tag ${name}:${tag}\n`);
  });
}
