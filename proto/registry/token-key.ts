import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';
import { Secret } from '../secret.js';

const TOKEN_KEY_FILE = 'token.key';

/** The key a registry signs its bearer tokens with: made once in `dir` (0600), the same after a restart. */
export async function loadTokenKey(dir: string): Promise<Secret<Buffer>> {
  const path = join(dir, TOKEN_KEY_FILE);
  if (!existsSync(path)) await writeFileAtomic(path, `${randomBytes(32).toString('hex')}\n`, 0o600);
  return new Secret(Buffer.from((await readFile(path, 'utf8')).trim(), 'hex'));
}
