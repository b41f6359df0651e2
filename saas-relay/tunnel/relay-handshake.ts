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
import type { GatewayStore } from '../store/gateway-store.js';
import type { GatewayTable } from '../store/schema.js';

export interface HandshakeServices {
  readonly gateways: GatewayStore;
  readonly pairing: PairingService;
  readonly signingKey: KeyPair;
  readonly handshakeTimeoutMs: number;
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

export function rejectConnection(ws: WebSocket, error: PcgError, retryAfterMs?: number): void {
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

export async function runRelayHandshake(ws: WebSocket, socket: TLSSocket, services: HandshakeServices): Promise<HandshakeOutcome> {
  const opening: GatewayOpening = parseGatewayOpening(await nextText(ws, services.handshakeTimeoutMs));
  const proto = negotiateProtocol(opening.proto);
  const eph = generateKeyPair('X25519');
  const nonce = randomBytes(32);
  let gateway: GatewayTable;
  let gatewaySignPub: Buffer;
  let csrDigest: Uint8Array = EMPTY;
  let pairing: PreparedPairing | undefined;
  if (opening.type === 'hello') {
    const found = await services.gateways.findById(opening.gateway_id);
    if (!found || found.paired_at === null || found.sign_pub === null) throw new PcgError('PCG_ERR_GATEWAY_UNKNOWN', `gateway ${opening.gateway_id} is not paired with this relay`);
    if (found.revoked_at !== null) throw new PcgError('PCG_ERR_GATEWAY_REVOKED', `gateway ${found.id} is revoked`);
    assertClientCertificate(socket, found.id);
    gateway = found;
    gatewaySignPub = Buffer.from(found.sign_pub, 'base64');
  } else {
    pairing = await services.pairing.prepare(opening, new Secret(opening.code_secret));
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
