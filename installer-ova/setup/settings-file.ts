import { Value } from '@sinclair/typebox/value';
import type { TSchema, Static } from '@sinclair/typebox';
import { PcgError } from '../../proto/errors.js';
import { readSecretFile } from '../../proto/secret-file.js';
import { jsonSyntaxErrorAt } from './json-syntax-error.js';
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
 * password, so it is read as the secret files of the gateway and the relay are (readSecretFile):
 * a file others can read is refused (exit 2), not merely warned about, because by the time anyone
 * reads a warning the code may already be copied. A syntax error is named by line and column only:
 * JSON.parse's message quotes the text around it, which may be the code or the password.
 */
export async function readSettingsFile(path: string): Promise<SetupSettings> {
  const text = (await readSecretFile(path, '--config')).reveal();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const at = jsonSyntaxErrorAt(text);
    throw new PcgError('PCG_ERR_CONFIG_INVALID', `--config: ${path} is not JSON${at ? ` (syntax error at line ${at.line}, column ${at.column})` : ''}`);
  }
  return validateSettings(SetupSettings, value, path);
}
