import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

/**
 * Raw 32-byte Ed25519 / X25519 keys as they travel on the wire (base64), converted to
 * node:crypto KeyObjects through JWK, so that signing runs natively (see DESIGN.md:
 * tweetnacl's verify is ~130x slower).
 */
export type Curve = 'Ed25519' | 'X25519';

export function publicKeyFromRaw(curve: Curve, raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: curve, x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

export function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new TypeError('not an OKP key');
  return Buffer.from(jwk.x, 'base64url');
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
