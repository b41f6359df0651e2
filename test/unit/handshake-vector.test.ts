import { strict as assert } from 'node:assert';
import { createHash, createPrivateKey, createPublicKey, diffieHellman, hkdfSync, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { buildCsr } from '../../proto/csr.js';
import { deriveSessionKeys, signTranscript, transcriptHash, verifyTranscript, type TranscriptInput } from '../../proto/handshake.js';
import { rawPublicKey } from '../../proto/keys.js';

const README = readFileSync(new URL('../../../proto/README.md', import.meta.url), 'utf8');

/** A key pair from its 32-byte seed: the PKCS#8 wrapping of RFC 8032 / RFC 7748 private keys. */
function seeded(curve: 'Ed25519' | 'X25519', byte: number): { privateKey: KeyObject; publicRaw: Buffer } {
  const prefix = curve === 'Ed25519' ? '302e020100300506032b657004220420' : '302e020100300506032b656e04220420';
  const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from(prefix, 'hex'), Buffer.alloc(32, byte)]), format: 'der', type: 'pkcs8' });
  return { privateKey, publicRaw: rawPublicKey(createPublicKey(privateKey)) };
}

const gatewaySign = seeded('Ed25519', 0x01);
const gatewayEph = seeded('X25519', 0x02);
const relayEph = seeded('X25519', 0x04);
const relaySign = seeded('Ed25519', 0x06);
const gatewayNonce = Buffer.alloc(32, 0x03);
const relayNonce = Buffer.alloc(32, 0x05);
const exporter = Buffer.alloc(32, 0x07);
const CSR = '-----BEGIN CERTIFICATE REQUEST-----\nMIGVMEkCAQAwFjEUMBIGA1UEAwwLcGNnLWdhdGV3YXkwKjAFBgMrZXADIQCKiOPd\ndAnxlf1S2y08ul1yymcJvx2UEhvzdIgBtA9vXKAAMAUGAytlcANBAJ1A3AEUrY/T\njswQVU4AmiyUTimuvgpEPK1TdA12vLhqSNVQnmYLNQHV46zrw/LPtlW2qa6LxGh0\n/kko0MfZig4=\n-----END CERTIFICATE REQUEST-----\n';

interface Vector {
  readonly name: string;
  readonly input: TranscriptInput;
  readonly transcript: string;
  readonly relaySig?: string;
  readonly gatewaySig?: string;
  readonly gatewayToRelay?: string;
  readonly relayToGateway?: string;
}

const base = {
  proto: 1, gatewaySignPub: gatewaySign.publicRaw, gatewayEphPub: gatewayEph.publicRaw, gatewayNonce, relayEphPub: relayEph.publicRaw,
  relayNonce, relaySignPub: relaySign.publicRaw,
} as const;
const csrDigest = createHash('sha256').update(CSR).digest();

const VECTORS: Vector[] = [
  {
    name: 'session', input: { ...base, mode: 'session', subject: 'gw_0123456789abcdef', binding: 'tls-exporter', exporter, csrDigest: new Uint8Array(0) },
    transcript: 'b5277b8435868204e2b6c4fa46e341afdf74656d2e3813e95b4c5b5f37817e6d',
    relaySig: 'C2j3vSd2u8JjmKroRBO7iwcC1fp8gk0oD1QDM4E5inaO+SWHPlFMSZsek2/cYYScizghKhZDA3OD57qf2Gg3Cg==',
    gatewaySig: 't9iwzQHnGtGVY+OMc7b2stj21pETxo15qHz7ybi8Kg+SKy58f4981RjHx9pIO52HSs11kk502FPX4S7jIzF3Cw==',
    gatewayToRelay: '42d243091dac41d09569d55e05fa9f0b3c60dd7625f77c69ba6904d864ece47f',
    relayToGateway: '22fef5717cd06e57dbbd686569ca5e6710e17711f9b6c602c0613531039b4a97',
  },
  {
    name: 'session without binding', input: { ...base, mode: 'session', subject: 'gw_0123456789abcdef', binding: 'none', exporter: new Uint8Array(0), csrDigest: new Uint8Array(0) },
    transcript: 'c6f0e2a8f70f2e9bd0d7aaeb2e4d516a02d5403c2e68c24556ea33f47dbc8e03',
  },
  {
    name: 'pair', input: { ...base, mode: 'pair', subject: 'ABCD', binding: 'tls-exporter', exporter, csrDigest },
    transcript: 'a047e7a3ecd28c6c253aca98e3fae3e81c8b31d755f077101b37b2ba6a350d6b',
    relaySig: 'J9v8v2o8PNsmkv/CvxFalqL/qEGdkIKqpjai7niCqZyREWACsSsjdAp1oAQ915QP4mVULqmsjd+JpbaQCqe3Cg==',
    gatewaySig: 'GBxDmhhVfE2FXpZlReUmuC7wwKTzb/4LPC9rPjBZHBJklTV5p2T1BhhAK8SKKVUIM2B7h4i/aNa2HvBjG7C+DA==',
    gatewayToRelay: '0e962a7c686be988d330ec4efe2d97e2b7d9a6fef8ec953e1b0d3d8c0e1bacb5',
    relayToGateway: '79edc5b47cbb2d3908eab74a6977c2a0f4beff2cdebf641755bb4cbeab405391',
  },
];

/** The transcript as proto/README.md describes it, written without proto/handshake.ts. */
function transcriptFromTheDocument(t: TranscriptInput, proto: string | number = String(t.proto)): Buffer {
  const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64');
  const fields = ['pcg-tunnel', t.mode, proto, t.subject, b64(t.gatewaySignPub), b64(t.gatewayEphPub), b64(t.gatewayNonce),
    b64(t.relayEphPub), b64(t.relayNonce), b64(t.relaySignPub), t.binding, b64(t.exporter), b64(t.csrDigest)];
  return createHash('sha256').update(JSON.stringify(fields), 'utf8').digest();
}

describe('handshake test vector (proto/README.md)', () => {
  it('the document lists the same keys, CSR and values as this test', () => {
    for (const raw of [gatewaySign.publicRaw, gatewayEph.publicRaw, relayEph.publicRaw, relaySign.publicRaw]) assert.ok(README.includes(raw.toString('base64')));
    assert.ok(README.includes(CSR.trimEnd()), 'the CSR PEM');
    assert.ok(README.includes(csrDigest.toString('base64')));
    for (const v of VECTORS) {
      for (const value of [v.transcript, v.relaySig, v.gatewaySig, v.gatewayToRelay, v.relayToGateway]) if (value) assert.ok(README.includes(value), `${v.name}: ${value}`);
    }
  });

  it('the CSR is the one buildCsr makes for the gateway key (Ed25519 signing is deterministic)', () => {
    assert.equal(buildCsr('pcg-gateway', gatewaySign.privateKey, createPublicKey(gatewaySign.privateKey)), CSR);
  });

  for (const v of VECTORS) {
    describe(v.name, () => {
      const transcript = transcriptHash(v.input);

      it('transcript: proto/handshake.ts, the document and the vector agree', () => {
        assert.equal(transcript.toString('hex'), v.transcript);
        assert.equal(transcriptFromTheDocument(v.input).toString('hex'), v.transcript);
      });

      if (v.relaySig && v.gatewaySig) {
        it('signatures: Ed25519 over context ‖ transcript, as signed and verified by proto', () => {
          assert.equal(signTranscript('relay', transcript, relaySign.privateKey).toString('base64'), v.relaySig);
          assert.equal(signTranscript('gateway', transcript, gatewaySign.privateKey).toString('base64'), v.gatewaySig);
          assert.equal(verifyTranscript('relay', transcript, Buffer.from(v.relaySig!, 'base64'), relaySign.publicRaw), true);
          assert.equal(verifyTranscript('gateway', transcript, Buffer.from(v.gatewaySig!, 'base64'), gatewaySign.publicRaw), true);
          const context = (who: string): Buffer => Buffer.from(`pcg ${who} signs v1\0`);
          assert.equal(verify(null, Buffer.concat([context('relay'), transcript]), createPublicKey(relaySign.privateKey), Buffer.from(v.relaySig!, 'base64')), true);
          assert.equal(verify(null, Buffer.concat([context('gateway'), transcript]), createPublicKey(gatewaySign.privateKey), Buffer.from(v.gatewaySig!, 'base64')), true);
        });

        it('keys: both ends derive the vector\'s keys; HKDF as documented gives the same', () => {
          const atGateway = deriveSessionKeys(gatewayEph.privateKey, relayEph.publicRaw, transcript);
          const atRelay = deriveSessionKeys(relayEph.privateKey, gatewayEph.publicRaw, transcript);
          assert.equal(Buffer.from(atGateway.gatewayToRelay).toString('hex'), v.gatewayToRelay);
          assert.equal(Buffer.from(atGateway.relayToGateway).toString('hex'), v.relayToGateway);
          assert.deepEqual(atRelay, atGateway);
          const shared = diffieHellman({ privateKey: gatewayEph.privateKey, publicKey: createPublicKey(relayEph.privateKey) });
          assert.equal(Buffer.from(hkdfSync('sha256', shared, transcript, 'pcg v1 gateway->relay', 32)).toString('hex'), v.gatewayToRelay);
          assert.equal(Buffer.from(hkdfSync('sha256', shared, transcript, 'pcg v1 relay->gateway', 32)).toString('hex'), v.relayToGateway);
        });
      }
    });
  }

  it('the version enters as the string "1": the number 1 gives another transcript', () => {
    const session = VECTORS[0]!;
    assert.notEqual(transcriptFromTheDocument(session.input, 1).toString('hex'), session.transcript);
    assert.match(JSON.stringify(['pcg-tunnel', 'session', String(session.input.proto)]), /"session","1"\]$/);
  });

  it('csr_sha256 hashes the PEM text, not the DER', () => {
    const pair = VECTORS[2]!;
    const der = Buffer.from(CSR.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    const withDer = transcriptHash({ ...pair.input, csrDigest: createHash('sha256').update(der).digest() });
    assert.notEqual(withDer.toString('hex'), pair.transcript);
  });

  it('exporter is empty when binding is none: the vector without binding uses ""', () => {
    const none = VECTORS[1]!;
    assert.equal(none.input.exporter.length, 0);
    assert.notEqual(transcriptHash({ ...none.input, exporter }).toString('hex'), none.transcript);
  });
});
