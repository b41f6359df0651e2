import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { ApiClient } from '../support/api-client.js';
import { createGateway, pairCli } from '../support/gateway-fixture.js';
import { pairMessage, probeTunnel } from '../support/pair-probe.js';
import { RawSession } from '../support/raw-session.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { request } from 'node:https';

/** GET with an optional key, returning status, headers and the JSON body. */
function get(relay: RelayProcess, path: string, apiKey?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: { code?: string; message?: string } }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, relay.url), { ca: relay.caCert, headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? (JSON.parse(text) as { code?: string }) : {} }));
    });
    req.on('error', reject);
    req.end();
  });
}

const wrongOf = (code: string): string => `${code.slice(0, 5)}${code[5] === '0' ? '1' : '0'}${code.slice(6)}`;

describe('rate limits per source address (issue 7)', function () {
  this.timeout(60_000);
  const dirs: Array<{ path: string; remove: () => void }> = [];
  const relays: RelayProcess[] = [];
  const stateDir = (): string => {
    const dir = tempDir('gw');
    dirs.push(dir);
    return join(dir.path, 'state');
  };
  const start = async (args: string[]): Promise<RelayProcess> => {
    const relay = await RelayProcess.start({ args });
    relays.push(relay);
    return relay;
  };
  after(async () => {
    for (const r of relays) await r.stop();
    for (const d of dirs) d.remove();
  });

  it('REST: unauthenticated calls get 401 up to the limit, then 429 PCG_ERR_RATE_LIMITED with Retry-After; a valid key is never limited', async () => {
    const relay = await start(['--unauthenticated-per-minute', '5']);
    const { apiKey } = await relay.createTenant('limited');
    const bad = `${apiKey.slice(0, -1)}${apiKey.endsWith('A') ? 'B' : 'A'}`;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await get(relay, '/v1/tenant', bad)).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401]);

    for (const key of [bad, undefined]) {
      const limited = await get(relay, '/v1/gateways', key);
      assert.equal(limited.status, 429);
      assert.equal(limited.body.code, 'PCG_ERR_RATE_LIMITED');
      assert.match(limited.body.message!, /^too many unauthenticated requests from this address; retry in \d+ s\. /);
      const retryAfter = Number(limited.headers['retry-after']);
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${String(limited.headers['retry-after'])}`);
    }

    // The tenant's own traffic from the same address goes on, as often as it likes.
    for (let i = 0; i < 10; i++) assert.equal((await get(relay, '/v1/tenant', apiKey)).status, 200);
    assert.equal((await get(relay, '/healthz')).status, 200);
  });

  it('tunnel: failed pairing attempts up to the limit, then reject PCG_ERR_RATE_LIMITED, close 4429 and a retry hint; paired gateways still connect', async () => {
    const relay = await start(['--pairing-attempts-per-minute', '3']);
    const api = new ApiClient(relay.url, relay.caCert, (await relay.createTenant('pairing')).apiKey);
    const paired = stateDir();
    const ok = await pairCli(relay, paired, (await createGateway(api, 'dc-ok')).pairingCode);
    assert.equal(ok.code, 0, ok.stderr);

    const target = (await createGateway(api, 'dc-target')).pairingCode;
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await probeTunnel(relay.tunnelUrl, relay.caCert, pairMessage(wrongOf(target))));
    assert.deepEqual(answers.slice(0, 3).map((a) => [a.reply.code, a.close.code]), Array(3).fill(['PCG_ERR_PAIR_CODE_INVALID', 4411]));
    const limited = answers[3]!;
    assert.equal(limited.reply.type, 'reject');
    assert.equal(limited.reply.code, 'PCG_ERR_RATE_LIMITED');
    assert.equal(limited.close.code, 4429);
    assert.ok(limited.reply.retry_after_ms! > 0 && limited.reply.retry_after_ms! <= 60_000, `retry_after_ms ${limited.reply.retry_after_ms}`);
    assert.match(limited.reply.message!, /^too many failed pairing attempts from this address; retry in \d+ s\. /);

    // The right code from the same address waits too (pairing has no identity yet) and says why.
    const refused = await pairCli(relay, stateDir(), target);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^PCG_ERR_RATE_LIMITED: too many failed pairing attempts from this address; retry in \d+ s\./);
    // A paired gateway proves its identity: never limited.
    const session = await RawSession.open(paired);
    assert.ok(session.session.welcome.epoch >= 1);
    session.close();
  });

  it('tunnel: hellos without a client certificate are refused with PCG_ERR_HANDSHAKE, then rate limited; a gateway with its certificate is not', async () => {
    const relay = await start(['--unauthenticated-per-minute', '2']);
    const api = new ApiClient(relay.url, relay.caCert, (await relay.createTenant('hello')).apiKey);
    const paired = stateDir();
    const gw = await createGateway(api, 'dc-hello');
    assert.equal((await pairCli(relay, paired, gw.pairingCode)).code, 0);
    const hello = { type: 'hello', proto: [1], gateway_id: gw.id, eph_pub: Buffer.alloc(32, 1).toString('base64'), nonce: Buffer.alloc(32, 2).toString('base64'), agent: 'probe/1' };
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await probeTunnel(relay.tunnelUrl, relay.caCert, hello));
    assert.deepEqual(answers.map((a) => [a.reply.type, a.reply.code, a.close.code]), [
      ['reject', 'PCG_ERR_HANDSHAKE', 4001], ['reject', 'PCG_ERR_HANDSHAKE', 4001], ['reject', 'PCG_ERR_RATE_LIMITED', 4429],
    ]);
    const session = await RawSession.open(paired);
    assert.ok(session.session.welcome.epoch >= 1);
    session.close();
  });
});
