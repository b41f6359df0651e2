import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../proto/atomic-file.js';
import { SETUP_TOKEN_FILE } from './setup-token.js';

/** installer-dir/setup-complete.json: setup finished; the wizard is a status page from now on. */
export const SETUP_RECORD_FILE = 'setup-complete.json';

export interface SetupRecord {
  readonly gatewayId: string;
  readonly tenantId: string;
  readonly relayUrl: string;
  readonly configFile: string;
  readonly completedAt: string;
}

export async function readSetupRecord(installerDir: string): Promise<SetupRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(installerDir, SETUP_RECORD_FILE), 'utf8')) as SetupRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Records completion, which spends the setup token: the record is what every later start of the
 * wizard checks, and the token file made at first boot is removed so it cannot open anything again.
 */
export async function recordSetupComplete(installerDir: string, record: SetupRecord): Promise<void> {
  await writeFileAtomic(join(installerDir, SETUP_RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`, 0o644);
  await rm(join(installerDir, SETUP_TOKEN_FILE), { force: true });
}
