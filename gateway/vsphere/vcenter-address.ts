import { PcgError } from '../../proto/errors.js';

/**
 * The SDK endpoint for whatever an admin typed: `vc.example.com`, `vc.example.com:8443`,
 * `https://vc.example.com/`, `https://vc.example.com/sdk` all become `https://host[:port]/sdk`.
 */
export function vcenterSdkUrl(input: string): URL {
  const trimmed = input.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`);
  } catch {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', `vcenter.host: "${input}" is not a host name or URL`);
  }
  if (url.protocol !== 'https:') throw new PcgError('PCG_ERR_CONFIG_INVALID', `vcenter.host: vCenter speaks https, got ${url.protocol}`);
  if (!url.hostname) throw new PcgError('PCG_ERR_CONFIG_INVALID', `vcenter.host: "${input}" has no host`);
  return new URL('/sdk', `https://${url.host}`);
}
