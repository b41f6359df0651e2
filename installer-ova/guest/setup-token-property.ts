import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../proto/atomic-file.js';
import type { ApplianceValues } from '../appliance/appliance-properties.js';
import { ensureSetupToken, readTokenFile, SETUP_TOKEN_FILE } from '../setup/setup-token.js';

export interface SetupTokenOutcome {
  /** The token to show on tty1: one this appliance generated (now or at an earlier boot). */
  readonly shown: string | undefined;
  /** For the journal: where the token came from; never the token. */
  readonly summary: string;
  /** pcg.setupToken was given but refused; named, never quoted. */
  readonly problem: string | undefined;
}

/**
 * The wizard's token at first boot: pcg.setupToken when the wizard would accept it, else the one in
 * installer-dir/setup-token, else a new one. A refused property must not stop the boot: the
 * wizard reads the file at every start and exits on a token it refuses, so a bad value written
 * unchecked would take the wizard, the banner and the unattended setup down with it.
 */
export async function applySetupTokenProperty(values: ApplianceValues, installerDir: string): Promise<SetupTokenOutcome> {
  const given = values['pcg.setupToken'] ?? '';
  let problem: string | undefined;
  if (given) {
    if (await storeIfAccepted(installerDir, given)) return { shown: undefined, summary: 'from pcg.setupToken', problem: undefined };
    problem = 'setup token: pcg.setupToken is not one the wizard accepts (8 characters at least); the console (tty1) shows the one used instead';
  }
  const { token, created } = await ensureSetupToken(installerDir);
  return { shown: token.reveal(), summary: created ? 'generated' : 'kept', problem };
}

/**
 * The rule is the wizard's own: the value goes through setup-token.ts's readTokenFile, the reader
 * `serve` uses at start, from a 0600 file beside the real one that replaces it only when accepted.
 */
async function storeIfAccepted(installerDir: string, given: string): Promise<boolean> {
  const candidate = join(installerDir, `${SETUP_TOKEN_FILE}.given`);
  await writeFileAtomic(candidate, `${given}\n`, 0o600);
  try {
    await readTokenFile(candidate, 'pcg.setupToken');
  } catch {
    await rm(candidate, { force: true });
    return false;
  }
  await rename(candidate, join(installerDir, SETUP_TOKEN_FILE));
  return true;
}
