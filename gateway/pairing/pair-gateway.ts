import { MAX_FRAME_BYTES } from '../../proto/limits.js';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Clock } from '../../proto/clock.js';
import { buildCsr } from '../../proto/csr.js';
import { PcgError } from '../../proto/errors.js';
import { parsePairingCode } from '../../proto/pairing-code.js';
import { Secret } from '../../proto/secret.js';
import { IdentityStore, type IdentityRecord } from '../identity/identity-store.js';
import type { ProxyEnv } from '../net/proxy-for-url.js';
import { pairOverTunnel } from '../tunnel/gateway-handshake.js';
import { connectToRelay, relayTlsContext, type RelayTrust } from '../tunnel/relay-connector.js';

export interface PairOptions {
  readonly stateDir: string;
  readonly relayUrl: string;
  readonly code: Secret<string>;
  readonly caPin: string | null;
  readonly caFile: string | null;
  readonly proxy: ProxyEnv;
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly log: Logger;
}

/**
 * `pcg-gateway pair`: new keys and CSR in memory, one pairing exchange, then the identity is
 * written in one go. Any failure (wrong code, TLS, network) leaves the state dir untouched.
 */
export async function pairGateway(options: PairOptions): Promise<IdentityRecord> {
  const store = new IdentityStore(options.stateDir);
  store.assertNotPaired();
  const code = new Secret(parsePairingCode(options.code.reveal()));
  const extraCa = options.caFile ? [await readCaFile(options.caFile)] : [];
  const keys = IdentityStore.newKeys();
  const csr = buildCsr('pcg-gateway', keys.signKey.privateKey, keys.signKey.publicKey);
  const trust: RelayTrust = options.caPin ? { kind: 'pin', caPin: options.caPin } : { kind: 'system', extraCaPem: extraCa };
  const connection = await connectToRelay({
    relayUrl: options.relayUrl, trust, secureContext: relayTlsContext(trust), proxy: options.proxy, timeoutMs: options.timeoutMs,
    maxFrameBytes: MAX_FRAME_BYTES, clock: options.clock,
  });
  try {
    const { paired, relayPub } = await pairOverTunnel(connection, code, keys, csr, options.timeoutMs);
    const record: IdentityRecord = {
      gatewayId: paired.gateway_id, tenantId: paired.tenant_id, cloudAccountId: paired.cloud_account_id, relayUrl: options.relayUrl,
      caPin: options.caPin, relaySignPub: relayPub.toString('base64'), pairedAt: options.clock.now(),
    };
    await store.savePairing(record, keys, paired.cert, paired.ca);
    options.log.info({ gatewayId: record.gatewayId, tenantId: record.tenantId }, 'gateway paired');
    return record;
  } finally {
    connection.ws.terminate();
  }
}

export async function readCaFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', `ca-file: cannot read ${path}`, { cause: err });
  }
}
