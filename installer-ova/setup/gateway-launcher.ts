/** What a launcher needs to start the gateway with the configuration setup wrote. */
export interface LaunchSpec {
  readonly configFile: string;
  /** HTTPS_PROXY / NO_PROXY (the systemd unit reads the same from gateway.env). */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * How setup starts the gateway: `systemd` on the appliance (systemd-launcher.ts), `process` in
 * tests and development (process-launcher.ts). A small port, so the runner never knows which.
 */
export interface GatewayLauncher {
  readonly kind: 'systemd' | 'process';
  /**
   * Starts the gateway with the configuration as it is now. A gateway an earlier attempt left
   * running is restarted, never kept and never doubled: a retry after a failure comes with
   * corrected settings, and two gateways on one state dir would take each other's tunnel.
   */
  start(spec: LaunchSpec): Promise<void>;
  /** Stops the gateway (setup failed after starting it: nothing stays running while the form is shown). Idempotent. */
  stop(): Promise<void>;
  /** Why the gateway is known to have stopped (exit code, log file), or undefined while it may run. */
  stoppedReason(): string | undefined;
}
