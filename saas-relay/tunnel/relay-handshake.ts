/**
 * The relay's side of the handshake on one fresh websocket (see proto/handshake.ts for the
 * exchange). Resolves with an authenticated session or a completed pairing; on any failure it
 * sends a `reject` message and closes with the error's close code.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type WebSocket from 'ws';
import { PcgError } from '../../proto/errors.js';
import { encodeFrame } from '../../proto/frame-codec.js';
import { FrameOpener, FrameSealer } from '../../proto/frame-sealer.js';
import { parseAuth, parseGatewayOpening } from '../../proto/handshake-codec.js';
import {
  assertTranscriptSignature, tlsExporter, deriveSessionKeys, signTranscript, transcriptHash, type TranscriptInput,
} from '../../proto/handshake.js';
import { generateKeyPair, type KeyPair } from '../../proto/keys.js';
import { Secret } from '../../proto/secret.js';
import type { ChallengeMessage, GatewayOpening, RejectMessage } from '../../proto/schemas/index.js';
import { negotiateProtocol } from '../../proto/version.js';
import type { PairingService, PreparedPairing } from '../pairing/pairing-service.js';
import { RateLimitedError, type AddressRateLimiter } from '../security/address-rate-limiter.js';
import type { GatewayStore } from '../store/gateway-store.js';
import type { GatewayTable } from '../store/schema.js';

export interface HandshakeServices {
  readonly gateways: GatewayStore;
  readonly pairing: PairingService;
  readonly signingKey: KeyPair;
  readonly handshakeTimeoutMs: number;
  /** Per-address limits on failures; none when absent (tests of the handshake alone). */
  readonly limits?: HandshakeLimits | undefined;
}

export interface HandshakeLimits {
  /** `pair` messages whose code was not proven (wrong, unknown, used up: one refusal). */
  readonly pairing: AddressRateLimiter;
  /** Handshakes without a valid identity: a `hello` without this gateway's client certificate, a malformed opening. */
  readonly unauthenticated: AddressRateLimiter;
}

export interface AuthenticatedSession {
  readonly gateway: GatewayTable;
  readonly sealer: FrameSealer;
  readonly opener: FrameOpener;
  /** The gateway's software version from its hello, recorded with the session's start. */
  readonly agent: string;
}

const EMPTY = new Uint8Array(0);

/** Reads exactly one text message, or fails on binary, close or timeout. */
function nextText(ws: WebSocket, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
    };
    const onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
      cleanup();
      if (isBinary) reject(new PcgError('PCG_ERR_FRAME_INVALID', 'expected a handshake message, got a binary frame'));
      else resolve((data as Buffer).toString('utf8'));
    };
    const onClose = (): void => {
      cleanup();
      reject(new PcgError('PCG_ERR_HANDSHAKE', 'the gateway closed the connection during the handshake'));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new PcgError('PCG_ERR_HANDSHAKE', `the handshake did not complete within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.on('message', onMessage);
    ws.once('close', onClose);
  });
}

/** Sends `reject` and closes with the error's close code; a RateLimitedError carries its own retry hint. */
export function rejectConnection(ws: WebSocket, error: PcgError, retryAfterMs = error instanceof RateLimitedError ? error.retryAfterMs : undefined): void {
  const message: RejectMessage = { type: 'reject', code: error.code, message: error.message.slice(0, 1024), ...(retryAfterMs !== undefined ? { retry_after_ms: retryAfterMs } : {}) };
  if (ws.readyState === ws.OPEN) {
    ws.send(JSON.stringify(message));
    ws.close(error.closeCode, error.code);
    setTimeout(() => ws.terminate(), 2000).unref();
  }
}

/** The client certificate must name this gateway; expiry is tolerated (the signed handshake is the
 *  real proof, and an expired certificate is renewed right after), anything else is refused. */
function assertClientCertificate(socket: TLSSocket, gatewayId: string): void {
  const raw = socket.getPeerCertificate();
  const acceptable = socket.authorized || socket.authorizationError?.toString() === 'CERT_HAS_EXPIRED';
  const cn = raw && 'subject' in raw && raw.subject ? raw.subject.CN : undefined;
  if (!acceptable || cn !== gatewayId) {
    throw new PcgError('PCG_ERR_HANDSHAKE', `client certificate ${cn ? `for ${cn}` : 'missing'} or not issued by this relay (${socket.authorizationError?.toString() ?? 'no error'})`);
  }
}

export type HandshakeOutcome = { kind: 'session'; session: AuthenticatedSession } | { kind: 'paired'; gatewayId: string };

/**
 * Counts a failure that proved nothing against `limiter` and returns the error to throw: `error`
 * itself, or PCG_ERR_RATE_LIMITED when the address has no failures left (not counted again, so
 * a client that waits as told gets back in).
 */
function failed(limiter: AddressRateLimiter | undefined, address: string | undefined, what: string, error: unknown): unknown {
  if (!limiter) return error;
  try {
    limiter.assertAdmitted(address, what);
  } catch (limited) {
    return limited;
  }
  limiter.recordFailure(address);
  return error;
}

/**
 * Handshake order (proto/README.md): opening → [hello: client certificate, then the gateway's
 * record | pair: rate limit, then the code] → challenge → auth. A hello is judged by its
 * certificate before the store is asked, so without one every gateway id gets the same
 * PCG_ERR_HANDSHAKE, and a gateway that has its certificate is never rate limited.
 */
export async function runRelayHandshake(ws: WebSocket, socket: TLSSocket, services: HandshakeServices): Promise<HandshakeOutcome> {
  const address = socket.remoteAddress;
  const limits = services.limits;
  const text = await nextText(ws, services.handshakeTimeoutMs);
  let opening: GatewayOpening;
  try {
    opening = parseGatewayOpening(text);
  } catch (err) {
    throw failed(limits?.unauthenticated, address, 'invalid handshakes', err);
  }
  const proto = negotiateProtocol(opening.proto);
  const eph = generateKeyPair('X25519');
  const nonce = randomBytes(32);
  let gateway: GatewayTable;
  let gatewaySignPub: Buffer;
  let csrDigest: Uint8Array = EMPTY;
  let pairing: PreparedPairing | undefined;
  if (opening.type === 'hello') {
    try {
      assertClientCertificate(socket, opening.gateway_id);
    } catch (err) {
      throw failed(limits?.unauthenticated, address, 'handshakes without a valid client certificate', err);
    }
    const found = await services.gateways.findById(opening.gateway_id);
    if (!found || found.paired_at === null || found.sign_pub === null) throw new PcgError('PCG_ERR_GATEWAY_UNKNOWN', `gateway ${opening.gateway_id} is not paired with this relay`);
    if (found.revoked_at !== null) throw new PcgError('PCG_ERR_GATEWAY_REVOKED', `gateway ${found.id} is revoked`);
    gateway = found;
    gatewaySignPub = Buffer.from(found.sign_pub, 'base64');
  } else {
    limits?.pairing.assertAdmitted(address, 'failed pairing attempts');
    try {
      pairing = await services.pairing.prepare(opening, new Secret(opening.code_secret));
    } catch (err) {
      // Only the one refusal proves nothing; USED, EXPIRED, REVOKED or a bad CSR come after the secret was proven.
      if (err instanceof PcgError && err.code === 'PCG_ERR_PAIR_CODE_INVALID') limits?.pairing.recordFailure(address);
      throw err;
    }
    gateway = pairing.gateway;
    gatewaySignPub = Buffer.from(opening.sign_pub, 'base64');
    csrDigest = createHash('sha256').update(opening.csr).digest();
  }
  const transcriptInput: TranscriptInput = {
    mode: opening.type === 'hello' ? 'session' : 'pair', proto, subject: opening.type === 'hello' ? opening.gateway_id : opening.code_id,
    gatewaySignPub, gatewayEphPub: Buffer.from(opening.eph_pub, 'base64'), gatewayNonce: Buffer.from(opening.nonce, 'base64'),
    relayEphPub: eph.publicRaw, relayNonce: nonce, relaySignPub: services.signingKey.publicRaw,
    binding: 'tls-exporter', exporter: tlsExporter(socket), csrDigest,
  };
  const transcript = transcriptHash(transcriptInput);
  const challenge: ChallengeMessage = {
    type: 'challenge', proto, eph_pub: eph.publicRaw.toString('base64'), nonce: nonce.toString('base64'),
    relay_pub: services.signingKey.publicRaw.toString('base64'), binding: 'tls-exporter',
    sig: signTranscript('relay', transcript, services.signingKey.privateKey).toString('base64'),
  };
  ws.send(JSON.stringify(challenge));
  const auth = parseAuth(await nextText(ws, services.handshakeTimeoutMs));
  assertTranscriptSignature('gateway', transcript, Buffer.from(auth.sig, 'base64'), gatewaySignPub);
  const keys = deriveSessionKeys(eph.privateKey, transcriptInput.gatewayEphPub, transcript);
  const sealer = new FrameSealer(keys.relayToGateway);
  const opener = new FrameOpener(keys.gatewayToRelay);
  if (opening.type === 'pair') {
    const paired = await services.pairing.complete(opening, pairing!);
    ws.send(sealer.seal(encodeFrame(paired)));
    ws.close(1000, 'paired');
    return { kind: 'paired', gatewayId: paired.gateway_id };
  }
  return { kind: 'session', session: { gateway, sealer, opener, agent: opening.agent } };
}
