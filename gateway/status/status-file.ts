import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../proto/atomic-file.js';
import { join } from 'node:path';

/**
 * The gateway's tunnel, as `pcg-gateway run` drives it:
 *
 *   connecting --welcome--> online --closed--> backoff --timer--> connecting
 *        \--fail--> backoff                                 any --stop()|terminal--> stopped
 */
export type TunnelState = 'connecting' | 'online' | 'backoff' | 'stopped';
export const TUNNEL_STATES: readonly TunnelState[] = ['connecting', 'online', 'backoff', 'stopped'];

/** Why the tunnel stopped for good: an operator must act (re-pair, stop a duplicate process). */
export interface StopReason {
  readonly code: string;
  readonly message: string;
}

/** What `pcg-gateway run` tells `pcg-gateway status` through the state dir. */
export interface StatusRecord {
  readonly pid: number;
  readonly state: TunnelState;
  readonly since: number;
  /** Set when the state is `stopped` because the relay refused this gateway for good; null after a plain stop. */
  readonly reason: StopReason | null;
  readonly lastHeartbeatAt: number | null;
  readonly epoch: number | null;
  readonly certExpiresAt: number | null;
  /** Last error code while not online, for the admin to act on. */
  readonly lastError: string | null;
  readonly updatedAt: number;
  /** Cluster jobs executing and waiting, as of this record (absent in files of older versions). */
  readonly jobs?: { readonly running: number; readonly queued: number };
}

const FILE = 'status.json';

export async function writeStatus(stateDir: string, status: StatusRecord): Promise<void> {
  await writeFileAtomic(join(stateDir, FILE), `${JSON.stringify(status)}\n`, 0o644);
}

export async function readStatus(stateDir: string): Promise<StatusRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(stateDir, FILE), 'utf8')) as StatusRecord;
  } catch {
    return undefined;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
