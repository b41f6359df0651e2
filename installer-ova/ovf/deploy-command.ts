import { PcgError } from '../../proto/errors.js';

/** Placeholder: the OVF helper replaces this file. */
export interface DeployOptions {
  readonly vcenterHost: string;
  readonly vcenterUser: string;
  readonly vcenterPasswordFile: string;
  readonly vcenterThumbprint?: string;
  readonly datacenter: string;
  readonly cluster?: string;
  readonly datastore?: string;
  readonly network?: string;
  readonly folder?: string;
  readonly name: string;
  readonly prop?: string[];
}

export function deployCommand(_ova: string, _options: DeployOptions): Promise<void> {
  return Promise.reject(new PcgError('PCG_ERR_INTERNAL', 'deploy: not built yet'));
}
