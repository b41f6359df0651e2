/**
 * Session and pairing handshake: transcript, signatures and key schedule.
 *
 *   gateway                                              relay
 *     | -- hello|pair {proto[], id, eph_pub, nonce} -------> |
 *     | <-- challenge {proto, eph_pub, nonce, relay_pub,     |
 *     |               binding, sig_relay(transcript)} ------ |
 *     | -- auth {sig_gateway(transcript)} ----------------->  |
 *     | <== sealed: welcome | paired ======================= |
 *
 * The transcript hashes everything both sides said plus, when the relay terminates TLS, the TLS
 * exporter value, so a signature cannot be replayed on another connection. Session keys come
 * from an ephemeral X25519 agreement (forward secrecy), one key per direction.
 */
import { createHash, diffieHellman, hkdfSync, sign, verify, type KeyObject } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { PcgError } from './errors.js';
import { publicKeyFromRaw } from './keys.js';

export type HandshakeMode = 'session' | 'pair';
export type ChannelBinding = 'tls-exporter' | 'none';

/** Label and length for `tlsSocket.exportKeyingMaterial()`; both ends must use the same. */
export const TLS_EXPORTER_LABEL = 'EXPORTER-pcg-tunnel-v1';
export const TLS_EXPORTER_LENGTH = 32;

/** The channel-binding value both ends of one TLS connection compute alike (RFC 5705 / 8446 exporter). */
export function tlsExporter(socket: TLSSocket): Uint8Array {
  return socket.exportKeyingMaterial(TLS_EXPORTER_LENGTH, TLS_EXPORTER_LABEL, Buffer.alloc(0));
}

export interface TranscriptInput {
  readonly mode: HandshakeMode;
  readonly proto: number;
  /** Gateway id (session) or pairing code id (pair). */
  readonly subject: string;
  /** Gateway's long-term Ed25519 public key: sent in the pair message, already known in a session. */
  readonly gatewaySignPub: Uint8Array;
  readonly gatewayEphPub: Uint8Array;
  readonly gatewayNonce: Uint8Array;
  readonly relayEphPub: Uint8Array;
  readonly relayNonce: Uint8Array;
  readonly relaySignPub: Uint8Array;
  readonly binding: ChannelBinding;
  /** TLS exporter output when binding is tls-exporter, else empty. */
  readonly exporter: Uint8Array;
  /** SHA-256 of the CSR in pair mode, else empty. */
  readonly csrDigest: Uint8Array;
}

const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64');

/** SHA-256 over a JSON array of the fields in a fixed order: unambiguous and easy to reproduce. */
export function transcriptHash(t: TranscriptInput): Buffer {
  const fields = [
    'pcg-tunnel', t.mode, String(t.proto), t.subject, b64(t.gatewaySignPub), b64(t.gatewayEphPub), b64(t.gatewayNonce),
    b64(t.relayEphPub), b64(t.relayNonce), b64(t.relaySignPub), t.binding, b64(t.exporter), b64(t.csrDigest),
  ];
  return createHash('sha256').update(JSON.stringify(fields)).digest();
}

// Domain separation: a relay signature can never be presented as a gateway's, and vice versa.
const RELAY_CONTEXT = Buffer.from('pcg relay signs v1\0');
const GATEWAY_CONTEXT = Buffer.from('pcg gateway signs v1\0');

export type Signer = 'relay' | 'gateway';

export function signTranscript(who: Signer, transcript: Uint8Array, key: KeyObject): Buffer {
  return sign(null, Buffer.concat([who === 'relay' ? RELAY_CONTEXT : GATEWAY_CONTEXT, transcript]), key);
}

/** `publicKey` as raw bytes, or as a KeyObject made once by a caller that verifies often. */
export function verifyTranscript(who: Signer, transcript: Uint8Array, signature: Uint8Array, publicKey: Uint8Array | KeyObject): boolean {
  const raw = publicKey instanceof Uint8Array;
  if (signature.length !== 64 || (raw && publicKey.length !== 32)) return false;
  const context = who === 'relay' ? RELAY_CONTEXT : GATEWAY_CONTEXT;
  return verify(null, Buffer.concat([context, transcript]), raw ? publicKeyFromRaw('Ed25519', publicKey) : publicKey, signature);
}

/** Throws PCG_ERR_HANDSHAKE when the signature does not verify. */
export function assertTranscriptSignature(who: Signer, transcript: Uint8Array, signature: Uint8Array, publicKey: Uint8Array | KeyObject): void {
  if (!verifyTranscript(who, transcript, signature, publicKey)) {
    throw new PcgError('PCG_ERR_HANDSHAKE', `the ${who} signature over the handshake transcript does not verify`);
  }
}

export interface SessionKeys {
  /** Seals gateway→relay frames. */
  readonly gatewayToRelay: Uint8Array;
  /** Seals relay→gateway frames. */
  readonly relayToGateway: Uint8Array;
}

export function deriveSessionKeys(ownEphPrivate: KeyObject, peerEphPub: Uint8Array, transcript: Uint8Array): SessionKeys {
  const shared = diffieHellman({ privateKey: ownEphPrivate, publicKey: publicKeyFromRaw('X25519', peerEphPub) });
  const derive = (info: string): Uint8Array => new Uint8Array(hkdfSync('sha256', shared, transcript, info, 32));
  return { gatewayToRelay: derive('pcg v1 gateway->relay'), relayToGateway: derive('pcg v1 relay->gateway') };
}
