/** What the VM console shows above the login prompt (an agetty issue snippet). */
export interface BannerFacts {
  readonly port: number;
  /** AB:CD:… of the wizard's certificate. */
  readonly fingerprint: string | undefined;
  /**
   * The token to show on tty1: only one generated on the appliance. A token set in the vApp
   * properties is known to its admin and shown nowhere.
   */
  readonly token: string | undefined;
  readonly configured: boolean;
  /** Properties refused at boot, so the admin at the console sees why a setting did not apply. */
  readonly problems: readonly string[];
}

/**
 * Which getty reads the banner. `tty1`: the VM's own screen (the vSphere console, behind vCenter's
 * permissions), the only place a token is shown. `shared`: every other getty, the serial one
 * included, whose output ends in a serial log file, a console server or a test's output.
 */
export type BannerConsole = 'tty1' | 'shared';

/**
 * agetty expands `\4` to the VM's current IPv4 address and reprints the banner when it changes, so
 * the URL is right even when DHCP answers after the banner was written. A backslash anywhere else
 * would be read as an escape: the only variable text (token, fingerprint, problems) is escaped.
 */
export function renderConsoleBanner(facts: BannerFacts, where: BannerConsole): string {
  const esc = (s: string) => s.replace(/\\/g, '\\\\');
  const url = `https://\\4:${facts.port}/`;
  const lines = ['', 'PCG installer appliance'];
  if (facts.configured) lines.push(`  Set up. Gateway status page: ${url}`);
  else {
    lines.push(`  Setup wizard:        ${url}`);
    lines.push(`  Setup token:         ${tokenLine(facts.token, where, esc)}`);
  }
  lines.push(`  Certificate SHA-256: ${facts.fingerprint ? esc(facts.fingerprint) : 'shown by the wizard (pcg-installer.service log)'}`);
  for (const problem of facts.problems) lines.push(`  Not applied: ${esc(problem)}`);
  return `${lines.join('\n')}\n\n`;
}

function tokenLine(token: string | undefined, where: BannerConsole, esc: (s: string) => string): string {
  if (token === undefined) return 'the one given in the pcg.setupToken vApp property';
  return where === 'tty1' ? esc(token) : "on the VM's own console (vSphere console, tty1) only";
}
