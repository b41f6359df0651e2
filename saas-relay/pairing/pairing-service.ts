import type { KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import { PcgError } from '../../proto/errors.js';
import type { Clock } from '../../proto/clock.js';
import { verifyCsr } from '../../proto/csr.js';
import { rawPublicKey } from '../../proto/keys.js';
import type { Secret } from '../../proto/secret.js';
import type { PairedFrame, PairMessage } from '../../proto/schemas/index.js';
import type { CertificateAuthority } from '../tls/certificate-authority.js';
import type { GatewayStore } from '../store/gateway-store.js';
import type { GatewayTable, RelayDatabase } from '../store/schema.js';
import { pairingCodeRefused, type PairingCodes } from './pairing-codes.js';

export interface PreparedPairing {
  readonly gateway: GatewayTable;
  /** The gateway's Ed25519 key from its verified CSR. */
  readonly clientKey: KeyObject;
}

export interface PairingServiceOptions {
  readonly clientCertLifetimeMs: number;
}

/**
 * Completes a pairing once the gateway has proven possession of its key: consumes the code,
 * signs the gateway's certificate and records its identity, all in one transaction, so a lost
 * race or a crash leaves either a fully paired gateway or an untouched, still usable code.
 */
export class PairingService {
  constructor(
    private readonly db: Kysely<RelayDatabase>,
    private readonly codes: PairingCodes,
    private readonly gateways: GatewayStore,
    private readonly ca: CertificateAuthority,
    private readonly clock: Clock,
    private readonly options: PairingServiceOptions,
  ) {}

  /**
   * Validates the opening `pair` message without consuming the code: the gateway it pairs and the
   * key its certificate will carry (the CSR is verified here, once).
   */
  async prepare(message: PairMessage, secret: Secret<string>): Promise<PreparedPairing> {
    const code = await this.codes.check(message.code_id, secret);
    const csr = verifyCsr(message.csr);
    if (!rawPublicKey(csr.publicKey).equals(Buffer.from(message.sign_pub, 'base64'))) {
      throw new PcgError('PCG_ERR_BAD_REQUEST', 'the CSR is not for the signing key sent in the pair message');
    }
    const gateway = await this.gateways.findById(code.gateway_id);
    if (!gateway) throw pairingCodeRefused(); // the foreign key makes this unreachable; answer as for any refused code
    if (gateway.revoked_at !== null) throw new PcgError('PCG_ERR_GATEWAY_REVOKED', `gateway ${gateway.id} is revoked`);
    return { gateway, clientKey: csr.publicKey };
  }

  async complete(message: PairMessage, { gateway, clientKey }: PreparedPairing): Promise<PairedFrame> {
    return this.db.transaction().execute(async (trx) => {
      await this.codes.consume(trx, message.code_id);
      const fresh = await trx.selectFrom('gateways').selectAll().where('id', '=', gateway.id).executeTakeFirstOrThrow();
      if (fresh.revoked_at !== null) throw new PcgError('PCG_ERR_GATEWAY_REVOKED', `gateway ${gateway.id} is revoked`);
      const cert = this.ca.issueClient(gateway.id, clientKey, this.clock.now(), this.options.clientCertLifetimeMs);
      const account = await this.gateways.recordPairing(trx, fresh, {
        signPub: message.sign_pub, boxPub: message.box_pub, certSerial: cert.serial, certExpiresAt: cert.notAfter,
      });
      return {
        type: 'paired', gateway_id: gateway.id, tenant_id: gateway.tenant_id, cloud_account_id: account.id,
        cert: cert.certPem, ca: this.ca.certPem, cert_expires_at: cert.notAfter,
      } satisfies PairedFrame;
    });
  }
}
