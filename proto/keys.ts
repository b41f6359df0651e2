import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

/**
 * Raw 32-byte Ed25519 / X25519 keys as they travel on the wire (base64), converted to
 * node:crypto KeyObjects through JWK, so that signing runs natively (see DESIGN.md:
 * tweetnacl's verify is ~130x slower).
 */
export type Curve = 'Ed25519' | 'X25519';

// SubjectPublicKeyInfo of an Ed25519 / X25519 key is a fixed 12-byte header and the 32 raw
// bytes (RFC 8410); going through DER is several times cheaper than through JWK, which matters
// in a reconnect storm.
const SPKI_PREFIX: Record<Curve, Buffer> = {
  Ed25519: Buffer.from('302a300506032b6570032100', 'hex'),
  X25519: Buffer.from('302a300506032b656e032100', 'hex'),
};

export function publicKeyFromRaw(curve: Curve, raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new TypeError(`${curve} public keys are 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX[curve], raw]), format: 'der', type: 'spki' });
}

export function rawPublicKey(key: KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'spki' });
  if (der.length !== 44) throw new TypeError(`not an Ed25519/X25519 key (${key.asymmetricKeyType})`);
  return der.subarray(12);
}

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Raw public key, 32 bytes. */
  readonly publicRaw: Buffer;
}

export function generateKeyPair(curve: Curve): KeyPair {
  const pair = curve === 'Ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('x25519');
  return { ...pair, publicRaw: rawPublicKey(pair.publicKey) };
}

export function keyPairFromPem(pem: string): KeyPair {
  const privateKey = createPrivateKey(pem);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, publicRaw: rawPublicKey(publicKey) };
}

export function privateKeyToPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}
