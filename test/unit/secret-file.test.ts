import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PcgError } from '../../proto/errors.js';
import { readSecretFile } from '../../proto/secret-file.js';
import { tempDir } from '../support/temp-dir.js';

describe('password files', () => {
  const dir = tempDir('secret-file');
  after(() => dir.remove());
  const file = (name: string, text: string, mode: number): string => {
    const path = join(dir.path, name);
    writeFileSync(path, text, { mode });
    return path;
  };
  const failure = (path: string) => readSecretFile(path, 'vcenter.passwordFile').then(() => undefined, (e: unknown) => e as PcgError);

  it('reads the password without the trailing newline, wrapped so it never prints', async () => {
    const secret = await readSecretFile(file('ok', 'Pa55 word\n', 0o600), 'vcenter.passwordFile');
    assert.equal(secret.reveal(), 'Pa55 word');
    assert.equal(String(secret), '[redacted]');
  });

  it('refuses a file others may read, an empty one and a missing one, naming the setting', async () => {
    assert.match((await failure(file('open', 'x', 0o644)))!.message, /^vcenter\.passwordFile: .*open has mode 644; make it 0600/);
    assert.match((await failure(file('empty', '\n', 0o600)))!.message, /^vcenter\.passwordFile: .*empty is empty/);
    const missing = await failure(join(dir.path, 'nope'));
    assert.equal(missing!.code, 'PCG_ERR_CONFIG_INVALID');
    assert.match(missing!.message, /^vcenter\.passwordFile: cannot read /);
  });
});
