import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../proto/atomic-file.js';
import { PcgError } from '../../proto/errors.js';
import { CROCKFORD_ALPHABET } from '../../proto/pairing-code.js';
import { Secret, sameSecret } from '../../proto/secret.js';
import { readSecretFile } from '../../proto/secret-file.js';

/** installer-dir/setup-token (0600): the token first boot made or took from pcg.setupToken. */
export const SETUP_TOKEN_FILE = 'setup-token';

/** 20 Crockford base32 characters (100 bits) in groups of five: typed from a console, never guessed. */
export function generateSetupToken(): string {
  let chars = '';
  for (let i = 0; i < 20; i++) chars += CROCKFORD_ALPHABET[randomInt(32)];
  return chars.match(/.{5}/g)!.join('-');
}

/**
 * The installer-dir token, made now (0600) when absent. `created` tells the caller to show it once
 * (console, stderr). First boot calls this too, after writing pcg.setupToken when given.
 */
export async function ensureSetupToken(installerDir: string): Promise<{ token: Secret<string>; created: boolean }> {
  const file = join(installerDir, SETUP_TOKEN_FILE);
  if (existsSync(file)) return { token: await readTokenFile(file, 'setup token'), created: false };
  await mkdir(installerDir, { recursive: true, mode: 0o700 });
  const token = generateSetupToken();
  await writeFileAtomic(file, `${token}\n`, 0o600);
  return { token: new Secret(token), created: true };
}

/**
 * A setup token file: its owner's alone (0600), at least 8 characters. `key` names the file in
 * errors as the user knows it: `--setup-token-file` when they passed it, `setup token` for the
 * one in installer-dir.
 */
export async function readTokenFile(file: string, key = '--setup-token-file'): Promise<Secret<string>> {
  const text = (await readSecretFile(file, key)).reveal().trim();
  if (text.length < 8) throw new PcgError('PCG_ERR_CONFIG_INVALID', `${key}: ${file} holds fewer than 8 characters`);
  return new Secret(text);
}

/**
 * The wizard's one credential. Compared in constant time; spent for good when setup completes
 * (after that, no value matches, whatever is presented).
 */
export class SetupToken {
  #spent: boolean;

  constructor(private readonly token: Secret<string>, spent: boolean) {
    this.#spent = spent;
  }

  get spent(): boolean {
    return this.#spent;
  }

  /** Whether `presented` is the token; always false once spent. Case and dashes are as shown. */
  matches(presented: string | undefined): boolean {
    if (this.#spent || presented === undefined) return false;
    return sameSecret(presented.trim(), this.token.reveal());
  }

  spend(): void {
    this.#spent = true;
  }
}
