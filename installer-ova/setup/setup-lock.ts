import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PcgError } from '../../proto/errors.js';
import { processAlive } from '../../gateway/status/status-file.js';

/** installer-dir/setup.lock: `<pid> <start time>` of the process running setup (the wizard, the unattended setup, the CLI). */
export const SETUP_LOCK_FILE = 'setup.lock';

/**
 * One setup at a time across processes: pcg-auto-setup.service and the wizard may both try to
 * pair at boot. The lock is created exclusively with its pid already in it — written to a file of
 * our own, then hard-linked to the lock's name, which fails with EEXIST when it exists — so no
 * reader ever sees an empty lock. A lock whose process is gone (setup was killed, the VM lost
 * power) is stale and taken over. The process's start time is kept next to its pid: after a
 * reboot the pid is soon another process's, and a lock must not outlive the boot it was taken in.
 */
export class SetupLock {
  #released = false;

  private constructor(private readonly file: string) {}

  /** Takes the lock, or throws PCG_ERR_CONFLICT naming the pid that holds it. */
  static async acquire(installerDir: string): Promise<SetupLock> {
    await mkdir(installerDir, { recursive: true, mode: 0o700 });
    const file = join(installerDir, SETUP_LOCK_FILE);
    const mine = join(installerDir, `${SETUP_LOCK_FILE}.${process.pid}.${randomBytes(4).toString('hex')}`);
    await writeFile(mine, `${process.pid} ${startTimeOf(process.pid) ?? ''}\n`, { mode: 0o644 });
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await link(mine, file);
          return new SetupLock(file);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const holder = await readHolder(file);
        if (holder && running(holder)) throw held(holder.pid);
        // Stale: removed only while it still says the same, then taken by the link above. Two
        // processes taking over the same stale lock both win only if one's read and unlink fall
        // between the other's unlink and link: microseconds, after a crash, at most once.
        if ((await readFile(file, 'utf8').catch(() => undefined)) === holder?.text) await rm(file, { force: true });
      }
      throw held((await readHolder(file))?.pid);
    } finally {
      await rm(mine, { force: true });
    }
  }

  /** Idempotent. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await rm(this.file, { force: true });
  }
}

/** The pid of the running process holding installer-dir's setup lock, or undefined (no lock, or a stale one). */
export async function setupLockHolder(installerDir: string): Promise<number | undefined> {
  const holder = await readHolder(join(installerDir, SETUP_LOCK_FILE));
  return holder && running(holder) ? holder.pid : undefined;
}

interface LockHolder { readonly pid: number; readonly startTime: string | undefined; readonly text: string }

/** The lock's holder; undefined when there is no lock or it names no pid (never written by us: stale). */
async function readHolder(file: string): Promise<LockHolder | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const [pidText, startTime] = text.trim().split(' ');
  const pid = Number(pidText);
  return Number.isInteger(pid) && pid > 0 ? { pid, startTime: startTime || undefined, text } : { pid: 0, startTime: undefined, text };
}

function running(holder: LockHolder): boolean {
  if (holder.pid === 0 || !processAlive(holder.pid)) return false;
  return holder.startTime === undefined || startTimeOf(holder.pid) === holder.startTime;
}

/** Field 22 of /proc/<pid>/stat (clock ticks since boot); undefined where there is no /proc. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function held(pid: number | undefined): PcgError {
  return new PcgError('PCG_ERR_CONFLICT', `setup is already running${pid ? ` (process ${pid}: the unattended setup, the wizard or pcg-installer setup)` : ''}; wait for its result`);
}
