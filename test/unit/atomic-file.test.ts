import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../proto/atomic-file.js';
import { PcgError } from '../../proto/errors.js';
import { tempDir } from '../support/temp-dir.js';

const ATOMIC_FILE_JS = new URL('../../proto/atomic-file.js', import.meta.url).href;
const NOBODY = 65534;
const mode = (path: string): number => statSync(path).mode & 0o777;

/** Runs `op` with the process umask set to `mask`, restoring it after. */
async function withUmask<T>(mask: number, op: () => Promise<T>): Promise<T> {
  const previous = process.umask(mask);
  try {
    return await op();
  } finally {
    process.umask(previous);
  }
}

/** writeFileAtomic in a child process as user nobody (root ignores directory permissions). */
function writeAsNobody(path: string, data: string): Promise<string> {
  const script = `import { writeFileAtomic } from ${JSON.stringify(ATOMIC_FILE_JS)};
writeFileAtomic(${JSON.stringify(path)}, ${JSON.stringify(data)}, 0o600).then(() => console.log('written'), (err) => console.log(err.code));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { uid: NOBODY, gid: NOBODY, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once('exit', () => resolve(out.trim())));
}

describe('writeFileAtomic', () => {
  let dir: { path: string; remove: () => void };
  beforeEach(() => {
    dir = tempDir('atomic');
  });
  afterEach(() => dir.remove());

  it('writes the exact bytes with mode 0600 even under a permissive umask', async () => {
    const path = join(dir.path, 'sign.key');
    const data = new Uint8Array([0, 1, 2, 255, 10, 13]);
    await withUmask(0o000, () => writeFileAtomic(path, data, 0o600));
    assert.deepEqual(new Uint8Array(readFileSync(path)), data);
    assert.equal(mode(path), 0o600);
    assert.deepEqual(readdirSync(dir.path), ['sign.key']);
  });

  it('writes mode 0644 even under a restrictive umask', async () => {
    const path = join(dir.path, 'status.json');
    await withUmask(0o077, () => writeFileAtomic(path, '{"state":"online"}\n', 0o644));
    assert.equal(readFileSync(path, 'utf8'), '{"state":"online"}\n');
    assert.equal(mode(path), 0o644);
    assert.deepEqual(readdirSync(dir.path), ['status.json']);
  });

  it('replaces an existing file, content and mode, and leaves no temp file', async () => {
    const path = join(dir.path, 'client.crt');
    writeFileSync(path, 'old content that is longer than the new one', { mode: 0o644 });
    await writeFileAtomic(path, 'new', 0o600);
    assert.equal(readFileSync(path, 'utf8'), 'new');
    assert.equal(mode(path), 0o600);
    await writeFileAtomic(path, '', 0o600);
    assert.equal(readFileSync(path, 'utf8'), '');
    assert.deepEqual(readdirSync(dir.path), ['client.crt']);
  });

  it('fails when the path is a directory, leaving the directory and no temp file', async () => {
    const path = join(dir.path, 'taken');
    mkdirSync(path);
    await assert.rejects(writeFileAtomic(path, 'data', 0o600), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'EISDIR');
      return true;
    });
    assert.deepEqual(readdirSync(dir.path), ['taken']);
    assert.equal(statSync(path).isDirectory(), true);
  });

  it('fails when the data cannot be written, removing the temp file it had created', async () => {
    const path = join(dir.path, 'identity.json');
    writeFileSync(path, 'kept');
    await assert.rejects(writeFileAtomic(path, 42 as unknown as string, 0o600), { name: 'TypeError' });
    assert.deepEqual(readdirSync(dir.path), ['identity.json']);
    assert.equal(readFileSync(path, 'utf8'), 'kept');
  });

  it('fails with EACCES in a directory it may not write, leaving the old file as it was', async function () {
    const target = join(dir.path, 'ro');
    mkdirSync(target);
    const path = join(target, 'box.key');
    writeFileSync(path, 'old');
    chmodSync(dir.path, 0o755);
    chmodSync(target, 0o555);
    try {
      if (process.getuid?.() === 0) {
        assert.equal(await writeAsNobody(path, 'new'), 'EACCES');
      } else {
        await assert.rejects(writeFileAtomic(path, 'new', 0o600), (err: NodeJS.ErrnoException) => {
          assert.equal(err.code, 'EACCES');
          return true;
        });
      }
    } finally {
      chmodSync(target, 0o755);
    }
    assert.deepEqual(readdirSync(target), ['box.key']);
    assert.equal(readFileSync(path, 'utf8'), 'old');
  });

  it('fails with ENOENT when the directory does not exist, creating nothing', async () => {
    await assert.rejects(writeFileAtomic(join(dir.path, 'missing', 'f'), 'x', 0o600), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'ENOENT');
      return true;
    });
    assert.deepEqual(readdirSync(dir.path), []);
  });
});

describe('PcgError.wrap', () => {
  it('returns a PcgError as it is, its more precise code kept', () => {
    const original = new PcgError('PCG_ERR_FRAME_AUTH', 'replayed frame');
    assert.equal(PcgError.wrap(original, 'PCG_ERR_INTERNAL', 'frame handling failed'), original);
    assert.equal(PcgError.wrap(original, 'PCG_ERR_TUNNEL_CLOSED').code, 'PCG_ERR_FRAME_AUTH');
  });

  it('wraps an Error with the code, its message as detail, and the error as cause', () => {
    const cause = Object.assign(new Error('EACCES: permission denied, open status.json'), { code: 'EACCES' });
    const wrapped = PcgError.wrap(cause, 'PCG_ERR_STATE_DIR');
    assert.ok(wrapped instanceof PcgError);
    assert.equal(wrapped.code, 'PCG_ERR_STATE_DIR');
    assert.equal(wrapped.detail, 'EACCES: permission denied, open status.json');
    assert.equal(wrapped.message, `EACCES: permission denied, open status.json. ${new PcgError('PCG_ERR_STATE_DIR').message}`);
    assert.equal(wrapped.cause, cause);
  });

  it('uses the given detail over the cause\'s message, and wraps non-errors as text', () => {
    const cause = new TypeError('x is undefined');
    const wrapped = PcgError.wrap(cause, 'PCG_ERR_INTERNAL', 'frame handling failed');
    assert.equal(wrapped.detail, 'frame handling failed');
    assert.equal(wrapped.cause, cause);
    const fromString = PcgError.wrap('socket hang up', 'PCG_ERR_RELAY_UNREACHABLE');
    assert.equal(fromString.code, 'PCG_ERR_RELAY_UNREACHABLE');
    assert.equal(fromString.detail, 'socket hang up');
    assert.equal(fromString.cause, 'socket hang up');
  });
});
