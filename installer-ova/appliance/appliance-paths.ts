/**
 * Where things live inside the appliance. The image build (image/) creates them, the systemd
 * units name them, and the wizard and guest code read them; tests pass their own temp dirs.
 */
export interface AppliancePaths {
  /** The built product (dist/, node_modules/, package.json) and `bin/node`. */
  readonly productDir: string;
  /** Installer state: the setup token (0600, shown on the console until spent), wizard TLS key and certificate, the setup record. 0700. */
  readonly installerDir: string;
  /** The gateway's state dir (identity, journal, status.json). */
  readonly gatewayStateDir: string;
  /** The gateway's JSON configuration written by setup (`pcg-gateway run --config`). */
  readonly gatewayConfigFile: string;
  /** The OVF environment as last read at boot (0600: it carries the pairing code). */
  readonly ovfEnvFile: string;
  /** A getty issue snippet (agetty reads /run/issue.d): the wizard URL and fingerprint, never the token (only tty1 shows it: guest/console-issue.ts). */
  readonly consoleIssueFile: string;
}

export const APPLIANCE_PATHS: AppliancePaths = Object.freeze({
  productDir: '/opt/pcg',
  installerDir: '/var/lib/pcg-installer',
  gatewayStateDir: '/var/lib/pcg-gateway',
  gatewayConfigFile: '/etc/pcg/gateway.json',
  ovfEnvFile: '/var/lib/pcg-installer/ovf-env.xml',
  consoleIssueFile: '/run/issue.d/50-pcg.issue',
});
