import { PcgError } from '../../proto/errors.js';

/** Placeholder: the setup helper replaces this file. */
export interface SetupCommandOptions {
  readonly config: string;
  readonly json?: boolean;
  readonly installerDir: string;
  readonly gatewayStateDir: string;
  readonly gatewayConfig: string;
  readonly launcher: 'systemd' | 'process';
}

export function setupCommand(_options: SetupCommandOptions): Promise<void> {
  return Promise.reject(new PcgError('PCG_ERR_INTERNAL', 'setup: not built yet'));
}
