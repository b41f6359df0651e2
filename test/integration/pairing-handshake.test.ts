import { strict as assert } from 'node:assert';
import { ApiClient } from '../support/api-client.js';
import { createGateway } from '../support/gateway-fixture.js';
import { pairMessage, probeTunnel } from '../support/pair-probe.js';
import { RelayProcess } from '../support/relay-fixture.js';

/** proto/README.md "What the relay checks, in this order", against a real relay, byte for byte on the wire. */
describe('handshake refusals as documented (issue 7, point 6)', function () {
  this.timeout(60_000);
  let relay: RelayProcess;
  let api: ApiClient;
  const probe = (opening: unknown, afterChallenge?: string | Buffer) => probeTunnel(relay.tunnelUrl, relay.caCert, opening, afterChallenge === undefined ? {} : { afterChallenge });
  const hello = (gatewayId: string) => ({
    type: 'hello', proto: [1], gateway_id: gatewayId, eph_pub: Buffer.alloc(32, 1).toString('base64'), nonce: Buffer.alloc(32, 2).toString('base64'), agent: 'probe/1',
  });

  before(async () => {
    // Refusals here are the point: no per-address limit in the way.
    relay = await RelayProcess.start({ args: ['--unauthenticated-per-minute', '100000', '--pairing-attempts-per-minute', '100000'] });
    api = new ApiClient(relay.url, relay.caCert, (await relay.createTenant('handshake')).apiKey);
  });
  after(async () => {
    await relay?.stop();
  });

  it('a hello without the client certificate: PCG_ERR_HANDSHAKE / 4001 before any challenge, for a known and an unknown id alike', async () => {
    const known = await createGateway(api, 'dc-known');
    for (const id of [known.id, 'gw_doesnotexist0000']) {
      const answer = await probe(hello(id));
      assert.deepEqual(answer.messages.map((m) => [m.type, m.code]), [['reject', 'PCG_ERR_HANDSHAKE']], id);
      assert.equal(answer.close.code, 4001, id);
      assert.match(answer.reply.message!, /^client certificate missing or not issued by this relay/);
    }
  });

  it('a malformed opening: PCG_ERR_FRAME_INVALID / 4006, nothing else sent', async () => {
    const openings: Array<[string, unknown]> = [
      ['not JSON', 'hello?'],
      ['a binary message', Buffer.from('{"type":"hello"}')],
      ['hello without fields', { type: 'hello' }],
      ['an unknown type', { type: 'auth', sig: 'x' }],
      ['pair with a lowercase code id', { ...pairMessage('ABCD-EFGH-JKMN-PQRS'), code_id: 'abcd' }],
      ['pair with an extra property', { ...pairMessage('ABCD-EFGH-JKMN-PQRS'), secret: 'x' }],
      ['proto as a string', { ...hello('gw_doesnotexist0000'), proto: '1' }],
    ];
    for (const [what, opening] of openings) {
      const answer = await probe(opening);
      assert.deepEqual(answer.messages.map((m) => [m.type, m.code]), [['reject', 'PCG_ERR_FRAME_INVALID']], what);
      assert.equal(answer.close.code, 4006, what);
    }
  });

  it('a malformed auth after the challenge: PCG_ERR_FRAME_INVALID / 4006; a wrong signature: PCG_ERR_HANDSHAKE / 4001; the code stays usable', async () => {
    const gw = await createGateway(api, 'dc-auth');
    const cases: Array<[string, string | Buffer, string, number]> = [
      ['auth that is not JSON', 'auth!', 'PCG_ERR_FRAME_INVALID', 4006],
      ['auth with a short signature', JSON.stringify({ type: 'auth', sig: 'AAAA' }), 'PCG_ERR_FRAME_INVALID', 4006],
      ['auth as binary', Buffer.from(JSON.stringify({ type: 'auth', sig: Buffer.alloc(64).toString('base64') })), 'PCG_ERR_FRAME_INVALID', 4006],
      ['auth with a wrong signature', JSON.stringify({ type: 'auth', sig: Buffer.alloc(64).toString('base64') }), 'PCG_ERR_HANDSHAKE', 4001],
    ];
    for (const [what, auth, code, close] of cases) {
      const answer = await probe(pairMessage(gw.pairingCode), auth);
      assert.deepEqual(answer.messages.map((m) => [m.type, m.code]), [['challenge', undefined], ['reject', code]], what);
      assert.equal(answer.close.code, close, what);
    }
    assert.equal((await probe(pairMessage(gw.pairingCode))).reply.type, 'challenge', 'a right secret never counts as a failure');
  });

  it('a pair message for protocol 2 only: PCG_ERR_PROTO_VERSION / 4426', async () => {
    const answer = await probe({ ...pairMessage('ABCD-EFGH-JKMN-PQRS'), proto: [2] });
    assert.deepEqual([answer.reply.code, answer.close.code], ['PCG_ERR_PROTO_VERSION', 4426]);
  });
});
