import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PcgError } from '../../proto/errors.js';

/** The lock file in a registry folder: `{pid, host, since}` of the process that owns it. */
export const REGISTRY_LOCK_FILE = 'owner.lock';

interface Owner {
  readonly pid: number;
  readonly host: string;
  readonly since: number;
}

/**
 * One process owns a registry folder (FsContentStore keeps upload sessions and sweeps orphans on
 * open; two owners would delete each other's uploads). `pcg-relay serve` and `pcg-relay packs
 * import` take this lock first. A lock whose pid no longer runs on this host (kill -9, power
 * loss) is taken over; one held by a live process, or by another host (shared storage), is not.
 */
export class RegistryLock {
  #released = false;

  private constructor(private readonly file: string) {}

  static acquire(dir: string, now: number): RegistryLock {
    const file = join(dir, REGISTRY_LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, 'wx', 0o600);
        try {
          writeSync(fd, `${JSON.stringify({ pid: process.pid, host: hostname(), since: now } satisfies Owner)}\n`);
        } finally {
          closeSync(fd);
        }
        return new RegistryLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw PcgError.wrap(err, 'PCG_ERR_CONFIG_INVALID', `cannot create ${file}`);
      }
      const owner = readOwner(file);
      if (owner && (owner.host !== hostname() || isRunning(owner.pid))) {
        throw new PcgError('PCG_ERR_REGISTRY_LOCKED', `${dir} is owned by pid ${owner.pid} on ${owner.host} since ${new Date(owner.since).toISOString()} (lock ${file})`);
      }
      // Stale (its process is gone) or unreadable (a crash while writing it): take it over.
      unlinkSync(file);
    }
    throw new PcgError('PCG_ERR_REGISTRY_LOCKED', `${dir}: another process took the lock ${file} while this one was taking it over`);
  }

  /** Idempotent; removes the file only while it is still ours. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (readOwner(this.file)?.pid === process.pid) unlinkSync(this.file);
  }
}

function readOwner(file: string): Owner | undefined {
  try {
    const owner = JSON.parse(readFileSync(file, 'utf8')) as Partial<Owner>;
    return typeof owner.pid === 'number' && typeof owner.host === 'string' ? { pid: owner.pid, host: owner.host, since: Number(owner.since ?? 0) } : undefined;
  } catch {
    return undefined;
  }
}

/** Signal 0 checks existence only; EPERM means it runs under another user. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
