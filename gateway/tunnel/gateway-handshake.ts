/** The gateway's side of pairing and of the session handshake (exchange in proto/handshake.ts). */
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type WebSocket from 'ws';
import { PcgError, RelayBusyError, isErrorCode } from '../../proto/errors.js';
import { decodeFrame } from '../../proto/frame-codec.js';
import { FrameOpener, FrameSealer } from '../../proto/frame-sealer.js';
import { parseRelayReply } from '../../proto/handshake-codec.js';
import { assertTranscriptSignature, deriveSessionKeys, signTranscript, tlsExporter, transcriptHash } from '../../proto/handshake.js';
import { generateKeyPair, publicKeyFromRaw, type KeyPair } from '../../proto/keys.js';
import type { PairingCode } from '../../proto/pairing-code.js';
import type { ChallengeMessage, PairedFrame, RejectMessage, WelcomeFrame } from '../../proto/schemas/index.js';
import { SUPPORTED_PROTOCOLS } from '../../proto/version.js';
import type { Secret } from '../../proto/secret.js';
import type { ChannelMessage } from '../../proto/sealed-channel.js';
import type { MessageQueue } from './message-queue.js';
import type { RelayConnection } from './relay-connector.js';

export const AGENT = 'pcg-gateway/0.1.0';

export interface SealedChannel {
  readonly sealer: FrameSealer;
  readonly opener: FrameOpener;
}

function rejection(reply: RejectMessage): PcgError {
  if (reply.code === 'PCG_ERR_RELAY_BUSY') return new RelayBusyError(reply.retry_after_ms ?? 1000, reply.message);
  return PcgError.fromRemote(isErrorCode(reply.code) ? reply.code : 'PCG_ERR_HANDSHAKE', reply.message);
}

async function readChallenge(queue: MessageQueue, timeoutMs: number): Promise<ChallengeMessage> {
  const message = await queue.next(timeoutMs);
  if (message.isBinary) throw new PcgError('PCG_ERR_HANDSHAKE', 'the relay sent a binary frame before the challenge');
  const reply = parseRelayReply(message.data.toString('utf8'));
  if (reply.type === 'reject') throw rejection(reply);
  return reply;
}

async function readFirstSealed(queue: MessageQueue, opener: FrameOpener, timeoutMs: number): Promise<ReturnType<typeof decodeFrame>> {
  const message = await queue.next(timeoutMs);
  if (!message.isBinary) {
    const reply = parseRelayReply(message.data.toString('utf8'));
    if (reply.type === 'reject') throw rejection(reply);
    throw new PcgError('PCG_ERR_HANDSHAKE', 'the relay sent a second challenge');
  }
  return decodeFrame(opener.open(message.data));
}

interface Exchange {
  readonly mode: 'session' | 'pair';
  readonly subject: string;
  readonly signKey: KeyPair;
  readonly csrPem: string | undefined;
  readonly eph: KeyPair;
  readonly nonce: Buffer;
  /** The relay key to expect; undefined at first contact, where TLS and the CA pin vouch for it. */
  readonly pinnedRelay: PinnedRelayKey | undefined;
}

async function completeExchange(ws: WebSocket, socket: TLSSocket, queue: MessageQueue, ex: Exchange, timeoutMs: number): Promise<SealedChannel & { relayPub: Buffer }> {
  const challenge = await readChallenge(queue, timeoutMs);
  if (!SUPPORTED_PROTOCOLS.includes(challenge.proto)) throw new PcgError('PCG_ERR_PROTO_VERSION', `the relay chose protocol ${challenge.proto}`);
  const relayPub = Buffer.from(challenge.relay_pub, 'base64');
  if (ex.pinnedRelay && !relayPub.equals(ex.pinnedRelay.raw)) {
    throw new PcgError('PCG_ERR_HANDSHAKE', 'the relay signing key differs from the one pinned at pairing');
  }
  const transcript = transcriptHash({
    mode: ex.mode, proto: challenge.proto, subject: ex.subject, gatewaySignPub: ex.signKey.publicRaw, gatewayEphPub: ex.eph.publicRaw,
    gatewayNonce: ex.nonce, relayEphPub: Buffer.from(challenge.eph_pub, 'base64'), relayNonce: Buffer.from(challenge.nonce, 'base64'),
    relaySignPub: relayPub, binding: challenge.binding, exporter: challenge.binding === 'tls-exporter' ? tlsExporter(socket) : new Uint8Array(0),
    csrDigest: ex.csrPem ? createHash('sha256').update(ex.csrPem).digest() : new Uint8Array(0),
  });
  assertTranscriptSignature('relay', transcript, Buffer.from(challenge.sig, 'base64'), ex.pinnedRelay?.key ?? relayPub);
  const keys = deriveSessionKeys(ex.eph.privateKey, Buffer.from(challenge.eph_pub, 'base64'), transcript);
  ws.send(JSON.stringify({ type: 'auth', sig: signTranscript('gateway', transcript, ex.signKey.privateKey).toString('base64') }));
  return { sealer: new FrameSealer(keys.gatewayToRelay), opener: new FrameOpener(keys.relayToGateway), relayPub };
}

export interface PairingResult {
  readonly paired: PairedFrame;
  readonly relayPub: Buffer;
}

export async function pairOverTunnel(
  { ws, socket, queue }: RelayConnection, code: Secret<PairingCode>, keys: { signKey: KeyPair; boxKey: KeyPair }, csrPem: string, timeoutMs: number,
): Promise<PairingResult> {
  const eph = generateKeyPair('X25519');
  const nonce = randomBytes(32);
  const { id, secret } = code.reveal();
  ws.send(JSON.stringify({
    type: 'pair', proto: [...SUPPORTED_PROTOCOLS], code_id: id, code_secret: secret, sign_pub: keys.signKey.publicRaw.toString('base64'),
    box_pub: keys.boxKey.publicRaw.toString('base64'), csr: csrPem, eph_pub: eph.publicRaw.toString('base64'), nonce: nonce.toString('base64'), agent: AGENT,
  }));
  const channel = await completeExchange(ws, socket, queue, { mode: 'pair', subject: id, signKey: keys.signKey, csrPem, eph, nonce, pinnedRelay: undefined }, timeoutMs);
  const frame = await readFirstSealed(queue, channel.opener, timeoutMs);
  queue.detach();
  if (frame.type !== 'paired') throw new PcgError('PCG_ERR_HANDSHAKE', `expected a paired frame, got ${frame.type}`);
  return { paired: frame, relayPub: channel.relayPub };
}

export interface EstablishedSession extends SealedChannel {
  readonly welcome: WelcomeFrame;
  /** Messages that arrived right behind welcome, for the session to process first. */
  readonly pending: ChannelMessage[];
}

/** The relay's Ed25519 key pinned at pairing, as bytes and as a KeyObject made once. */
export interface PinnedRelayKey {
  readonly raw: Buffer;
  readonly key: KeyObject;
}

export function pinnedRelayKey(relaySignPub: string): PinnedRelayKey {
  const raw = Buffer.from(relaySignPub, 'base64');
  return { raw, key: publicKeyFromRaw('Ed25519', raw) };
}

export async function openSession(
  { ws, socket, queue }: RelayConnection, identity: { gatewayId: string; signKey: KeyPair; relay: PinnedRelayKey }, timeoutMs: number,
): Promise<EstablishedSession> {
  const eph = generateKeyPair('X25519');
  const nonce = randomBytes(32);
  ws.send(JSON.stringify({
    type: 'hello', proto: [...SUPPORTED_PROTOCOLS], gateway_id: identity.gatewayId, eph_pub: eph.publicRaw.toString('base64'), nonce: nonce.toString('base64'), agent: AGENT,
  }));
  const channel = await completeExchange(ws, socket, queue, {
    mode: 'session', subject: identity.gatewayId, signKey: identity.signKey, csrPem: undefined, eph, nonce, pinnedRelay: identity.relay,
  }, timeoutMs);
  const frame = await readFirstSealed(queue, channel.opener, timeoutMs);
  if (frame.type !== 'welcome') throw new PcgError('PCG_ERR_HANDSHAKE', `expected welcome, got ${frame.type}`);
  return { ...channel, welcome: frame, pending: queue.detach() };
}
