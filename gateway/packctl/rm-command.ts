import { PcgError } from '../../proto/errors.js';
import { parsePackReference, packScope, withRegistry, type PackctlGlobals } from './packctl-context.js';

/** `packctl rm NAME:VERSION`: deletes the version; parent tags move to the next newest. */
export async function rmCommand(ref: string, globals: PackctlGlobals): Promise<void> {
  const { name, reference } = parsePackReference(ref, 'NAME:VERSION');
  if (reference === undefined || reference.startsWith('sha256:')) throw new PcgError('PCG_ERR_CONFIG_INVALID', `'${ref}' names no version: NAME:VERSION`);
  await withRegistry(globals, [packScope(name, 'delete')], async (client) => {
    await client.json('DELETE', `/v1/packs/${name}/${encodeURIComponent(reference)}`);
    process.stdout.write(`deleted ${name}:${reference}\n`);
  });
}
