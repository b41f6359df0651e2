/**
 * PKCS#10 certificate signing requests for the gateway's Ed25519 key: built by the gateway at
 * pairing and renewal, parsed and verified by the relay before it signs.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { PcgError } from './errors.js';
import { bits, derFromPem, fromDer, name, pem, seq, sequenceElement, signatureAlgorithm, spki, toDer, type Asn1 } from './x509-der.js';

export function buildCsr(commonName: string, privateKey: KeyObject, publicKey: KeyObject): string {
  const attributes = forge.asn1.create(forge.asn1.Class.CONTEXT_SPECIFIC, 0, true, []);
  const info = seq([
    forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.INTEGER, false, '\x00'),
    name(commonName),
    spki(publicKey),
    attributes,
  ]);
  const { algorithm, sign } = signatureAlgorithm(privateKey);
  const infoDer = toDer(info);
  return pem('CERTIFICATE REQUEST', toDer(seq([info, algorithm, bits(sign(infoDer))])));
}

export interface VerifiedCsr {
  readonly publicKey: KeyObject;
}

/** Parses a CSR and checks its self-signature; throws PCG_ERR_BAD_REQUEST otherwise. */
export function verifyCsr(csrPem: string): VerifiedCsr {
  try {
    const der = derFromPem(csrPem, 'CERTIFICATE REQUEST');
    const [info, , signature] = fromDer(der).value as Asn1[];
    const spkiNode = (info!.value as Asn1[])[2]!;
    const publicKey = createPublicKey({ key: toDer(spkiNode), format: 'der', type: 'spki' });
    const sig = Buffer.from((signature!.value as string).slice(1), 'binary');
    const algorithm = publicKey.asymmetricKeyType === 'ed25519' ? null : 'sha256';
    // Verify over the bytes as received, never over a re-encoding of them.
    if (!verify(algorithm, sequenceElement(der, 0), publicKey, sig)) throw new Error('signature mismatch');
    return { publicKey };
  } catch (err) {
    throw new PcgError('PCG_ERR_BAD_REQUEST', 'the certificate signing request is malformed or its signature does not verify', { cause: err });
  }
}
