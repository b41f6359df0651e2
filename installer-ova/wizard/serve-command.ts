import { PcgError } from '../../proto/errors.js';

/** Placeholder: the setup helper replaces this file. */
export interface ServeOptions {
  readonly host: string;
  readonly port: string;
  readonly setupTokenFile?: string;
  readonly installerDir: string;
  readonly gatewayStateDir: string;
  readonly gatewayConfig: string;
  readonly launcher: 'systemd' | 'process';
}

export function serveCommand(_options: ServeOptions): Promise<void> {
  return Promise.reject(new PcgError('PCG_ERR_INTERNAL', 'serve: not built yet'));
}
