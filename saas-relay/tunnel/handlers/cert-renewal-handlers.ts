import type { Logger } from 'pino';
import type { Clock } from '../../../proto/clock.js';
import { verifyCsr } from '../../../proto/csr.js';
import { PcgError } from '../../../proto/errors.js';
import type { FrameHandlers } from '../../../proto/frame-handlers.js';
import { rawPublicKey } from '../../../proto/keys.js';
import type { GatewayStore } from '../../store/gateway-store.js';
import type { CertificateAuthority } from '../../tls/certificate-authority.js';
import type { TunnelSession } from '../tunnel-session.js';

export interface CertRenewalDeps {
  readonly ca: CertificateAuthority;
  readonly gateways: GatewayStore;
  readonly clock: Clock;
  readonly log: Logger;
  readonly clientCertLifetimeMs: number;
}

/**
 * Certificate renewal over the tunnel: the CSR must be for the key the gateway paired with (a
 * stolen session cannot move the identity to a new key). A refusal is an `error` frame with
 * PCG_ERR_CERT_RENEW and the request's id; the gateway retries later.
 */
export function certRenewalHandlers(deps: CertRenewalDeps): FrameHandlers<TunnelSession> {
  return {
    'cert.renew': async (frame, session) => {
      const csr = verifyCsr(frame.csr);
      if (!rawPublicKey(csr.publicKey).equals(Buffer.from(session.signPub, 'base64'))) {
        throw new PcgError('PCG_ERR_CERT_RENEW', 'the CSR is not for the key this gateway paired with');
      }
      const cert = deps.ca.issueClient(session.gatewayId, csr.publicKey, deps.clock.now(), deps.clientCertLifetimeMs);
      await deps.gateways.recordCertificate(session.gatewayId, session.epoch, cert.serial, cert.notAfter);
      deps.log.info({ gatewayId: session.gatewayId, serial: cert.serial, notAfter: cert.notAfter }, 'gateway certificate renewed');
      session.send({ type: 'cert.renewed', cert: cert.certPem, cert_expires_at: cert.notAfter, ...(frame.id !== undefined ? { id: frame.id } : {}) });
    },
  };
}
