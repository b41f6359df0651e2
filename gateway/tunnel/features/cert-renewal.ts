import type { Logger } from 'pino';
import type { Clock } from '../../../proto/clock.js';
import { buildCsr } from '../../../proto/csr.js';
import { PcgError } from '../../../proto/errors.js';
import { finalReply } from '../../../proto/frame-handlers.js';
import type { KeyPair } from '../../../proto/keys.js';
import type { CertRenewedFrame } from '../../../proto/schemas/frames.js';
import type { GatewaySession } from '../gateway-session.js';
import type { TunnelFeature } from '../tunnel-feature.js';

export interface CertRenewalPorts {
  readonly signKey: KeyPair;
  /** Validity of the certificate in use; read at every check, it changes after a renewal. */
  certWindow(): { readonly notBefore: number; readonly notAfter: number };
  /** Stores the renewed certificate and uses it for the next connection. */
  renewed(certPem: string): Promise<void>;
  readonly clock: Clock;
  readonly log: Logger;
}

/** How long the relay may take to sign a renewal before the gateway asks again at a later check. */
const RENEW_TIMEOUT_MS = 30_000;

/**
 * Renews the client certificate over the tunnel once 2/3 of its life has passed, checking at
 * the heartbeat pace while a session is open. One renewal at a time; a refusal (PCG_ERR_CERT_RENEW)
 * or a timeout is logged and retried at the next check.
 */
export class CertRenewal implements TunnelFeature {
  readonly handlers = { 'cert.renewed': finalReply<GatewaySession, 'cert.renewed'>() };
  #timer: NodeJS.Timeout | undefined;
  #renewing = false;

  constructor(private readonly ports: CertRenewalPorts) {}

  opened(session: GatewaySession): void {
    clearInterval(this.#timer);
    this.#timer = setInterval(() => this.#check(session), session.welcome.heartbeat_s * 1000);
    this.#check(session);
  }

  closed(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #check(session: GatewaySession): void {
    const { notBefore, notAfter } = this.ports.certWindow();
    const renewAt = notBefore + ((notAfter - notBefore) * 2) / 3;
    if (this.#renewing || this.ports.clock.now() < renewAt || !session.isOpen) return;
    this.#renewing = true;
    this.#renew(session)
      .catch((err: unknown) => {
        const error = PcgError.wrap(err, 'PCG_ERR_CERT_RENEW');
        this.ports.log.warn({ code: error.code, detail: error.message }, 'certificate renewal failed; retrying at the next check');
      })
      .finally(() => {
        this.#renewing = false;
      });
  }

  async #renew(session: GatewaySession): Promise<void> {
    const csr = buildCsr('pcg-gateway', this.ports.signKey.privateKey, this.ports.signKey.publicKey);
    const reply = await session.requests.call<CertRenewedFrame>((id) => session.send({ type: 'cert.renew', id, csr }), {
      timeoutMs: RENEW_TIMEOUT_MS,
      onTimeout: () => new PcgError('PCG_ERR_CERT_RENEW', `the relay did not answer the renewal within ${RENEW_TIMEOUT_MS} ms`),
    });
    await this.ports.renewed(reply.cert);
    this.ports.log.info({ notAfter: new Date(reply.cert_expires_at).toISOString() }, 'client certificate renewed');
  }
}
