import { PcgError } from '../../proto/errors.js';

/** Placeholder: the appliance helper replaces this file. */
export interface FirstBootOptions {
  readonly ovfEnv?: string;
  readonly root: string;
  readonly installerDir: string;
  readonly gatewayStateDir: string;
  readonly gatewayConfig: string;
  readonly launcher: 'systemd' | 'process';
}

export function firstBootCommand(_options: FirstBootOptions): Promise<void> {
  return Promise.reject(new PcgError('PCG_ERR_INTERNAL', 'first-boot: not built yet'));
}
