import { rootCertificates, type TLSSocket } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import { PcgError } from '../../proto/errors.js';

/** How the gateway trusts one vCenter: a SHA-256 thumbprint pin, or CAs (system + an extra file). */
export type VcenterTrust = { readonly thumbprint: string } | { readonly caPem: string | null };

/** `AB:CD:…` upper-case colon hex, the form vSphere shows; accepts any case and separators. */
export function normalizeThumbprint(value: string): string {
  const hex = value.replace(/[^0-9a-f]/gi, '').toUpperCase();
  if (hex.length !== 64) throw new PcgError('PCG_ERR_CONFIG_INVALID', 'vcenter.thumbprint must be a SHA-256 fingerprint (64 hex digits)');
  return hex.match(/.{2}/g)!.join(':');
}

/**
 * One undici connection pool per vCenter with its own TLS rule; never a process-wide switch. With
 * a thumbprint, the chain is not checked against CAs (self-signed vCenters are the norm) but the
 * leaf must match the pin exactly, before a single byte of SOAP is sent.
 */
export function vcenterAgent(trust: VcenterTrust, connections = 4): Agent {
  if ('caPem' in trust) {
    return new Agent({ connections, connect: { ca: trust.caPem ? [...rootCertificates, trust.caPem] : undefined, rejectUnauthorized: true } });
  }
  const expected = normalizeThumbprint(trust.thumbprint);
  // No TLS session resumption: a resumed session presents no certificate to check the pin against.
  const base = buildConnector({ rejectUnauthorized: false, maxCachedSessions: 0 });
  return new Agent({
    connections,
    connect: (options, callback) => {
      base(options, (err, socket) => {
        if (err || !socket) {
          callback(err ?? new Error('no socket'), null);
          return;
        }
        const actual = (socket as TLSSocket).getPeerCertificate().fingerprint256;
        if (actual !== expected) {
          socket.destroy();
          callback(new PcgError('PCG_ERR_VCENTER_TLS', `thumbprint mismatch for ${options.hostname}: expected ${expected}, got ${actual}`), null);
          return;
        }
        callback(null, socket);
      });
    },
  });
}
