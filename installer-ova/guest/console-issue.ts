import { execFile } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../proto/atomic-file.js';
import { APPLIANCE_PATHS } from '../appliance/appliance-paths.js';
import { renderConsoleBanner, type BannerFacts } from './console-banner.js';

/**
 * The banner of tty1 only (0600, in a 0700 directory): the image's getty@tty1 drop-in
 * (image/rootfs/etc/systemd/system/getty@tty1.service.d/pcg-console.conf) names it with
 * `agetty --issue-file`, so no other getty reads it. Every other getty, the serial one included,
 * reads /etc/issue.d, whose 50-pcg.issue links to APPLIANCE_PATHS.consoleIssueFile: no token there.
 */
export const TTY1_ISSUE_FILE = '/run/pcg-installer/tty1.issue';
/** The banner's facts without the token, so the wizard can rewrite it when setup completes. */
export const BANNER_FACTS_FILE = '/run/pcg-installer/console-banner.json';

type StoredFacts = Omit<BannerFacts, 'token'>;

/**
 * Writes both banners under `root` ('/' on the appliance): the token, when there is one to show,
 * only into the tty1 file.
 */
export async function writeConsoleIssues(root: string, facts: BannerFacts): Promise<void> {
  const tty1 = join(root, TTY1_ISSUE_FILE);
  const shared = join(root, APPLIANCE_PATHS.consoleIssueFile);
  await mkdir(dirname(tty1), { recursive: true, mode: 0o700 });
  await mkdir(dirname(shared), { recursive: true, mode: 0o755 });
  await writeFileAtomic(tty1, renderConsoleBanner(facts, 'tty1'), 0o600);
  await writeFileAtomic(shared, renderConsoleBanner(facts, 'shared'), 0o644);
  const stored: StoredFacts = { port: facts.port, fingerprint: facts.fingerprint, configured: facts.configured, problems: facts.problems };
  await writeFileAtomic(join(root, BANNER_FACTS_FILE), `${JSON.stringify(stored)}\n`, 0o600);
}

/** The facts first boot stored (problems included), or undefined when it wrote none. */
export async function readBannerFacts(root: string): Promise<StoredFacts | undefined> {
  try {
    return JSON.parse(await readFile(join(root, BANNER_FACTS_FILE), 'utf8')) as StoredFacts;
  } catch {
    return undefined;
  }
}

/**
 * Setup is complete: both banners point at the status page and no longer carry a token (it is
 * spent). The refused properties first boot reported stay on them; port and fingerprint are the
 * running wizard's.
 */
export async function writeConfiguredConsoleIssues(root: string, wizard: Pick<StoredFacts, 'port' | 'fingerprint'>): Promise<void> {
  const stored = await readBannerFacts(root);
  await writeConsoleIssues(root, { ...wizard, token: undefined, configured: true, problems: stored?.problems ?? [] });
}

/**
 * Whether this process runs on the appliance: the image links /etc/issue.d/50-pcg.issue to the
 * banner; a host running the wizard (tests, development) has no such link and its gettys are
 * never touched.
 */
export function onAppliance(): boolean {
  try {
    return lstatSync(join('/etc/issue.d', '50-pcg.issue')).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * `agetty --reload`: every running agetty re-reads its banner and, when it changed, prints it
 * again; tty1's (no --noclear) clears the screen first, so a spent token leaves the screen too.
 */
export function reloadGettys(): Promise<void> {
  return new Promise((resolve) => {
    execFile('agetty', ['--reload'], { timeout: 5_000 }, () => resolve());
  });
}
