/** What the VM console shows above the login prompt (an agetty issue snippet). */
export interface BannerFacts {
  readonly port: number;
  /** AB:CD:… of the wizard's certificate. */
  readonly fingerprint: string | undefined;
  /** Shown only when generated here: a token set in the vApp properties is known to its admin. */
  readonly token: string | undefined;
  readonly configured: boolean;
  /** Properties refused at boot, so the admin at the console sees why a setting did not apply. */
  readonly problems: readonly string[];
}

/**
 * agetty expands `\4` to the VM's current IPv4 address and reprints the banner when it changes, so
 * the URL is right even when DHCP answers after the banner was written. A backslash anywhere else
 * would be read as an escape: the only variable text (token, fingerprint, problems) is escaped.
 */
export function renderConsoleBanner(facts: BannerFacts): string {
  const esc = (s: string) => s.replace(/\\/g, '\\\\');
  const url = `https://\\4:${facts.port}/`;
  const lines = ['', 'PCG installer appliance'];
  if (facts.configured) lines.push(`  Set up. Gateway status page: ${url}`);
  else {
    lines.push(`  Setup wizard:        ${url}`);
    lines.push(`  Setup token:         ${facts.token ? esc(facts.token) : 'the one given in the pcg.setupToken vApp property'}`);
  }
  lines.push(`  Certificate SHA-256: ${facts.fingerprint ? esc(facts.fingerprint) : 'shown by the wizard (pcg-installer.service log)'}`);
  for (const problem of facts.problems) lines.push(`  Not applied: ${esc(problem)}`);
  return `${lines.join('\n')}\n\n`;
}
