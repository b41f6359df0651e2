import { readFile, stat } from 'node:fs/promises';
import { PcgError } from './errors.js';
import { Secret } from './secret.js';

/**
 * A password kept in a file (vCenter, registry accounts): the file must be its owner's alone
 * (0600), its content is read once, without the trailing newline editors add, and kept wrapped.
 * `key` names the setting in every error (`vcenter.passwordFile`, `--registry-password-file`).
 */
export async function readSecretFile(path: string, key: string): Promise<Secret<string>> {
  let mode: number;
  let text: string;
  try {
    mode = (await stat(path)).mode & 0o777;
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', `${key}: cannot read ${path}`, { cause: err });
  }
  if (mode & 0o077) throw new PcgError('PCG_ERR_CONFIG_INVALID', `${key}: ${path} has mode ${mode.toString(8)}; make it 0600`);
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '') throw new PcgError('PCG_ERR_CONFIG_INVALID', `${key}: ${path} is empty`);
  return new Secret(secret);
}
