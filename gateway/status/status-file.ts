import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type TunnelState = 'online' | 'connecting' | 'offline' | 'revoked';

/** What `pcg-gateway run` tells `pcg-gateway status` through the state dir. */
export interface StatusRecord {
  readonly pid: number;
  readonly state: TunnelState;
  readonly since: number;
  readonly lastHeartbeatAt: number | null;
  readonly epoch: number | null;
  readonly certExpiresAt: number | null;
  /** Last error code while not online, for the admin to act on. */
  readonly lastError: string | null;
  readonly updatedAt: number;
}

const FILE = 'status.json';

export async function writeStatus(stateDir: string, status: StatusRecord): Promise<void> {
  const path = join(stateDir, FILE);
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(status)}\n`, { mode: 0o644 });
  await rename(tmp, path);
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
