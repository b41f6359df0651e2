/**
 * Minimal DER building blocks for X.509 and PKCS#10 on node-forge's ASN.1 encoder. forge's own
 * certificate API speaks RSA only; we issue ECDSA P-256 (relay CA and server) and Ed25519
 * (gateway client) certificates, signed natively by node:crypto, which is also ~100x faster.
 */
import { createHash, sign as cryptoSign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

const { asn1 } = forge;
export type Asn1 = forge.asn1.Asn1;

export const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ed25519: '1.3.101.112',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

const U = asn1.Class.UNIVERSAL;
const T = asn1.Type;

export const seq = (items: Asn1[]): Asn1 => asn1.create(U, T.SEQUENCE, true, items);
export const set = (items: Asn1[]): Asn1 => asn1.create(U, T.SET, true, items);
export const oid = (id: string): Asn1 => asn1.create(U, T.OID, false, asn1.oidToDer(id).getBytes());
export const utf8 = (s: string): Asn1 => asn1.create(U, T.UTF8, false, forge.util.encodeUtf8(s));
export const bool = (b: boolean): Asn1 => asn1.create(U, T.BOOLEAN, false, b ? '\xff' : '\x00');
export const octets = (bytes: Buffer): Asn1 => asn1.create(U, T.OCTETSTRING, false, bytes.toString('binary'));
export const bits = (bytes: Buffer, unusedBits = 0): Asn1 =>
  asn1.create(U, T.BITSTRING, false, String.fromCharCode(unusedBits) + bytes.toString('binary'));
export const integer = (bytes: Buffer): Asn1 => asn1.create(U, T.INTEGER, false, bytes.toString('binary'));
export const explicit = (tag: number, inner: Asn1): Asn1 => asn1.create(asn1.Class.CONTEXT_SPECIFIC, tag, true, [inner]);

export function toDer(node: Asn1): Buffer {
  return Buffer.from(asn1.toDer(node).getBytes(), 'binary');
}

/**
 * Parses DER. BIT STRINGs stay opaque: forge otherwise tries to read their bytes as nested ASN.1,
 * which random key or signature bytes sometimes satisfy, and the tree no longer holds the bytes.
 */
export function fromDer(der: Buffer): Asn1 {
  return asn1.fromDer(der.toString('binary'), { decodeBitStrings: false } as unknown as boolean);
}

/** The exact bytes of the `index`-th element inside the SEQUENCE at the start of `der`. */
export function sequenceElement(der: Buffer, index: number): Buffer {
  const header = (at: number): { start: number; end: number } => {
    const first = der[at + 1]!;
    const lengthBytes = first & 0x80 ? first & 0x7f : 0;
    let length = lengthBytes ? 0 : first;
    for (let i = 0; i < lengthBytes; i++) length = length * 256 + der[at + 2 + i]!;
    const start = at + 2 + lengthBytes;
    return { start, end: start + length };
  };
  let at = header(0).start;
  for (let i = 0; i < index; i++) at = header(at).end;
  return der.subarray(at, header(at).end);
}

/** Name with a common name and, optionally, an organization. */
export function name(commonName: string, organization?: string): Asn1 {
  const rdn = (type: string, value: string): Asn1 => set([seq([oid(type), utf8(value)])]);
  return seq(organization ? [rdn(OID.organization, organization), rdn(OID.commonName, commonName)] : [rdn(OID.commonName, commonName)]);
}

export function spki(publicKey: KeyObject): Asn1 {
  return fromDer(publicKey.export({ type: 'spki', format: 'der' }));
}

/** Signature algorithm and signer for the key types we use: ECDSA P-256 (SHA-256) and Ed25519. */
export function signatureAlgorithm(key: KeyObject): { algorithm: Asn1; sign: (data: Buffer) => Buffer } {
  if (key.asymmetricKeyType === 'ed25519') {
    return { algorithm: seq([oid(OID.ed25519)]), sign: (data) => cryptoSign(null, data, key) };
  }
  if (key.asymmetricKeyType === 'ec') {
    return { algorithm: seq([oid(OID.ecdsaWithSha256)]), sign: (data) => cryptoSign('sha256', data, key) };
  }
  throw new TypeError(`unsupported signing key type ${key.asymmetricKeyType}`);
}

/** SHA-1 of the subjectPublicKey bits, the customary key identifier (RFC 5280 4.2.1.2). */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  const node = spki(publicKey);
  const bitString = (node.value as Asn1[])[1]!.value as string;
  return createHash('sha1').update(Buffer.from(bitString.slice(1), 'binary')).digest();
}

export function pem(label: 'CERTIFICATE' | 'CERTIFICATE REQUEST', der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export function derFromPem(text: string, label: 'CERTIFICATE' | 'CERTIFICATE REQUEST'): Buffer {
  const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(text);
  if (!match) throw new TypeError(`no ${label} PEM block`);
  return Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64');
}
