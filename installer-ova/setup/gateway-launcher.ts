/** What a launcher needs to start the gateway with the configuration setup wrote. */
export interface LaunchSpec {
  readonly configFile: string;
  /** HTTPS_PROXY / NO_PROXY (the systemd unit reads the same from gateway.env). */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * How setup starts the gateway: `systemd` on the appliance (systemd-launcher.ts), `process` in
 * tests and development (process-launcher.ts). A port of two methods, so the runner never knows
 * which.
 */
export interface GatewayLauncher {
  readonly kind: 'systemd' | 'process';
  start(spec: LaunchSpec): Promise<void>;
  /** Why the gateway is known to have stopped (exit code, log file), or undefined while it may run. */
  stoppedReason(): string | undefined;
}
