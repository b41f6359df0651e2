/**
 * The relay's CA: ECDSA P-256, issues the relay's server certificate (embedded default) and the
 * gateways' short-lived Ed25519 client certificates from their CSRs.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';
import {
  OID, bits, bool, explicit, integer, keyIdentifier, name, octets, oid, pem, seq, signatureAlgorithm, spki, toDer, type Asn1,
} from '../../proto/x509-der.js';

export interface IssuedCertificate {
  readonly certPem: string;
  readonly serial: string;
  readonly notAfter: number;
}

interface CertSpec {
  readonly subject: Asn1;
  readonly subjectKey: KeyObject;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly extensions: Asn1[];
}

function extension(id: string, critical: boolean, value: Asn1): Asn1 {
  return seq(critical ? [oid(id), bool(true), octets(toDer(value))] : [oid(id), octets(toDer(value))]);
}

function time(ms: number): Asn1 {
  const date = new Date(ms);
  return date.getUTCFullYear() < 2050
    ? forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.UTCTIME, false, forge.asn1.dateToUtcTime(date))
    : forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.GENERALIZEDTIME, false, forge.asn1.dateToGeneralizedTime(date));
}

/**
 * 16 random bytes as a DER INTEGER: the first byte in 0x40..0x7f keeps it positive and minimally
 * encoded (a leading 0x00 followed by a byte below 0x80 is illegal padding that OpenSSL rejects).
 */
function serialNumber(): Buffer {
  const serial = randomBytes(16);
  serial[0] = 0x40 | (serial[0]! & 0x3f);
  return serial;
}

function buildCertificate(issuer: Asn1, issuerKey: KeyObject, spec: CertSpec): IssuedCertificate {
  const serial = serialNumber();
  const { algorithm, sign } = signatureAlgorithm(issuerKey);
  const tbs = seq([
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    algorithm,
    issuer,
    seq([time(spec.notBefore), time(spec.notAfter)]),
    spec.subject,
    spki(spec.subjectKey),
    explicit(3, seq(spec.extensions)),
  ]);
  const der = toDer(seq([tbs, algorithm, bits(sign(toDer(tbs)))]));
  return { certPem: pem('CERTIFICATE', der), serial: serial.toString('hex'), notAfter: spec.notAfter };
}

const keyUsage = { caSign: Buffer.from([0x06]), digitalSignature: Buffer.from([0x80]) };

export class CertificateAuthority {
  readonly #key: KeyObject;
  readonly #name: Asn1;
  readonly #keyId: Buffer;
  readonly certPem: string;
  readonly cert: X509Certificate;

  constructor(keyPem: string, certPem: string) {
    this.#key = createPrivateKey(keyPem);
    this.certPem = certPem;
    this.cert = new X509Certificate(certPem);
    this.#name = name(this.cert.subject.split('\n').find((l) => l.startsWith('CN='))?.slice(3) ?? 'PCG relay CA', 'PCG');
    this.#keyId = keyIdentifier(createPublicKey(this.#key));
  }

  /** A new self-signed CA, valid ten years. */
  static generate(commonName: string, now: number): { keyPem: string; certPem: string } {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const subject = name(commonName, 'PCG');
    const { certPem } = buildCertificate(subject, privateKey, {
      subject, subjectKey: publicKey, notBefore: now - 3_600_000, notAfter: now + 10 * 365 * 86_400_000,
      extensions: [
        extension(OID.basicConstraints, true, seq([bool(true)])),
        extension(OID.keyUsage, true, bits(keyUsage.caSign, 1)),
        extension(OID.subjectKeyIdentifier, false, octets(keyIdentifier(publicKey))),
      ],
    });
    return { keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), certPem };
  }

  #leafExtensions(subjectKey: KeyObject, usage: string): Asn1[] {
    return [
      extension(OID.basicConstraints, true, seq([])),
      extension(OID.keyUsage, true, bits(keyUsage.digitalSignature, 7)),
      extension(OID.extKeyUsage, false, seq([oid(usage)])),
      extension(OID.subjectKeyIdentifier, false, octets(keyIdentifier(subjectKey))),
      extension(OID.authorityKeyIdentifier, false, seq([forge.asn1.create(forge.asn1.Class.CONTEXT_SPECIFIC, 0, false, this.#keyId.toString('binary'))])),
    ];
  }

  /** TLS server certificate for the given DNS names and IP addresses. */
  issueServer(hosts: readonly string[], now: number, lifetimeMs: number): { keyPem: string } & IssuedCertificate {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const altNames = hosts.map((h) => {
      const family = isIP(h);
      if (family === 0) return forge.asn1.create(forge.asn1.Class.CONTEXT_SPECIFIC, 2, false, h);
      const bytes = family === 4 ? Buffer.from(h.split('.').map(Number)) : ipv6Bytes(h);
      return forge.asn1.create(forge.asn1.Class.CONTEXT_SPECIFIC, 7, false, bytes.toString('binary'));
    });
    const issued = buildCertificate(this.#name, this.#key, {
      subject: name(hosts[0] ?? 'localhost', 'PCG'), subjectKey: publicKey, notBefore: now - 3_600_000, notAfter: now + lifetimeMs,
      extensions: [...this.#leafExtensions(publicKey, OID.serverAuth), extension(OID.subjectAltName, false, seq(altNames))],
    });
    return { ...issued, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  }

  /** Client certificate for a gateway; the subject is the gateway id whatever the CSR asked. */
  issueClient(gatewayId: string, subjectKey: KeyObject, now: number, lifetimeMs: number): IssuedCertificate {
    return buildCertificate(this.#name, this.#key, {
      subject: name(gatewayId, 'PCG gateways'), subjectKey, notBefore: now - 300_000, notAfter: now + lifetimeMs,
      extensions: this.#leafExtensions(subjectKey, OID.clientAuth),
    });
  }
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const parts = (s: string): string[] => (s ? s.split(':') : []);
  const h = parts(head);
  const t = parts(tail);
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}
