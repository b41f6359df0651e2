import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETUP_LOCK_FILE, SetupLock, setupLockHolder } from '../../installer-ova/setup/setup-lock.js';
import { PcgError } from '../../proto/errors.js';
import { tempDir } from '../support/temp-dir.js';

describe('installer: setup lock (one setup at a time across processes)', () => {
  let dir: { path: string; remove: () => void };
  beforeEach(() => (dir = tempDir('setup-lock')));
  afterEach(() => dir.remove());
  const lockFile = (): string => join(dir.path, SETUP_LOCK_FILE);
  const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid;
  const conflict = (pid: number) => (err: unknown): boolean => err instanceof PcgError && err.code === 'PCG_ERR_CONFLICT'
    && err.message.startsWith(`setup is already running (process ${pid}: the unattended setup, the wizard or pcg-installer setup); wait for its result`);

  it('is taken with the pid and start time in it, refused while held, free again once released (idempotent)', async () => {
    const lock = await SetupLock.acquire(dir.path);
    assert.match(readFileSync(lockFile(), 'utf8'), new RegExp(`^${process.pid} \\d+\\n$`));
    assert.equal(await setupLockHolder(dir.path), process.pid);
    await assert.rejects(SetupLock.acquire(dir.path), conflict(process.pid));
    await lock.release();
    await lock.release();
    assert.deepEqual(readdirSync(dir.path), []);
    assert.equal(await setupLockHolder(dir.path), undefined);
    await (await SetupLock.acquire(dir.path)).release();
  });

  it('a lock whose process is gone, whose pid now runs something else, or that names no pid is stale and taken over', async () => {
    for (const stale of [`${deadPid()}\n`, `${process.pid} 1\n`, 'garbage\n', '']) {
      writeFileSync(lockFile(), stale);
      assert.equal(await setupLockHolder(dir.path), undefined, JSON.stringify(stale));
      const lock = await SetupLock.acquire(dir.path);
      assert.match(readFileSync(lockFile(), 'utf8'), new RegExp(`^${process.pid} `));
      await lock.release();
      assert.equal(existsSync(lockFile()), false);
    }
  });

  it('a lock of a live process written without its start time is held', async () => {
    writeFileSync(lockFile(), `${process.ppid}\n`);
    assert.equal(await setupLockHolder(dir.path), process.ppid);
    await assert.rejects(SetupLock.acquire(dir.path), conflict(process.ppid));
    assert.deepEqual(readdirSync(dir.path), [SETUP_LOCK_FILE], 'nothing else left behind');
  });
});
