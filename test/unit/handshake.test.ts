import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { deriveSessionKeys, signTranscript, transcriptHash, verifyTranscript, type TranscriptInput } from '../../proto/handshake.js';
import { generateKeyPair } from '../../proto/keys.js';
import { negotiateProtocol } from '../../proto/version.js';
import { PcgError } from '../../proto/errors.js';

describe('handshake primitives', () => {
  const relay = generateKeyPair('Ed25519');
  const gateway = generateKeyPair('Ed25519');
  const gEph = generateKeyPair('X25519');
  const rEph = generateKeyPair('X25519');
  const input: TranscriptInput = {
    mode: 'session', proto: 1, subject: 'gw_0123456789', gatewaySignPub: gateway.publicRaw, gatewayEphPub: gEph.publicRaw,
    gatewayNonce: randomBytes(32), relayEphPub: rEph.publicRaw, relayNonce: randomBytes(32), relaySignPub: relay.publicRaw,
    binding: 'tls-exporter', exporter: randomBytes(32), csrDigest: new Uint8Array(0),
  };

  it('signatures verify for their signer only, and only over the same transcript', () => {
    const t = transcriptHash(input);
    const sig = signTranscript('relay', t, relay.privateKey);
    assert.equal(verifyTranscript('relay', t, sig, relay.publicRaw), true);
    assert.equal(verifyTranscript('gateway', t, sig, relay.publicRaw), false, 'domain separation');
    assert.equal(verifyTranscript('relay', t, sig, gateway.publicRaw), false);
    const otherConnection = transcriptHash({ ...input, exporter: randomBytes(32) });
    assert.equal(verifyTranscript('relay', otherConnection, sig, relay.publicRaw), false, 'bound to the TLS connection');
  });

  it('both ends derive the same per-direction keys, different from each other', () => {
    const t = transcriptHash(input);
    const g = deriveSessionKeys(gEph.privateKey, rEph.publicRaw, t);
    const r = deriveSessionKeys(rEph.privateKey, gEph.publicRaw, t);
    assert.deepEqual(g, r);
    assert.notDeepEqual(g.gatewayToRelay, g.relayToGateway);
  });

  it('negotiates the highest common version or says none is shared', () => {
    assert.equal(negotiateProtocol([1, 7]), 1);
    assert.equal(negotiateProtocol([1, 2], [1, 2]), 2);
    assert.throws(() => negotiateProtocol([2, 3]), (err: unknown) => err instanceof PcgError && err.code === 'PCG_ERR_PROTO_VERSION' && /\[2, 3\]/.test(err.message));
  });
});
