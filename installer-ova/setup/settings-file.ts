import { readFile, stat } from 'node:fs/promises';
import { Value } from '@sinclair/typebox/value';
import type { TSchema, Static } from '@sinclair/typebox';
import { PcgError } from '../../proto/errors.js';
import { SetupSettings } from './setup-settings.js';

/** `/vcenter/password` → `vcenter.password`, the names the wizard's fields and error messages use. */
export function fieldOfPointer(pointer: string): string {
  return pointer.replace(/^\//, '').split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~')).join('.');
}

/** Validates `value` against `schema`; the first error names its field (PCG_ERR_CONFIG_INVALID). */
export function validateSettings<T extends TSchema>(schema: T, value: unknown, where: string, prefix = ''): Static<T> {
  const first = Value.Errors(schema, value).First();
  if (first) {
    const field = `${prefix}${fieldOfPointer(first.path)}`.replace(/\.$/, '') || '(root)';
    throw Object.assign(new PcgError('PCG_ERR_CONFIG_INVALID', `${where}: ${field}: ${first.message.toLowerCase()}`), { field });
  }
  return value;
}

/**
 * Reads `pcg-installer setup --config FILE`. The file holds the pairing code and maybe the vCenter
 * password, so it must be its owner's alone (0600), as the password files of the gateway and the
 * relay: a file others can read is refused (exit 2), not merely warned about, because by the time
 * anyone reads a warning the code may already be copied.
 */
export async function readSettingsFile(path: string): Promise<SetupSettings> {
  let mode: number;
  let text: string;
  try {
    mode = (await stat(path)).mode & 0o777;
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', `--config: cannot read ${path}`, { cause: err });
  }
  if (mode & 0o077) throw new PcgError('PCG_ERR_CONFIG_INVALID', `--config: ${path} has mode ${mode.toString(8)} and holds the pairing code; make it 0600`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', `--config: ${path} is not JSON (${(err as Error).message})`);
  }
  return validateSettings(SetupSettings, value, path);
}
