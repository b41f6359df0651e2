import { strict as assert } from 'node:assert';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import pino from 'pino';
import { systemClock } from '../../proto/clock.js';
import { generateKeyPair } from '../../proto/keys.js';
import { CertificateAuthority } from '../../saas-relay/tls/certificate-authority.js';
import type { GatewayIdentity } from '../../gateway/identity/identity-store.js';
import type { StatusRecord, TunnelState } from '../../gateway/status/status-file.js';
import type { BackoffOptions } from '../../gateway/tunnel/backoff.js';
import { TunnelClient } from '../../gateway/tunnel/tunnel-client.js';
import { sleep, waitFor } from '../support/wait-for.js';

/** The transitions tunnel-client.ts documents; a record sequence may only ever take these. */
const ALLOWED: Readonly<Record<TunnelState, readonly TunnelState[]>> = {
  connecting: ['online', 'backoff', 'stopped'],
  online: ['backoff', 'stopped'],
  backoff: ['connecting', 'stopped'],
  stopped: [],
};

const GATEWAY_ID = 'gw_0123456789abcdef';

/** A paired-looking identity: real keys, a client certificate from a throwaway relay CA. */
function identityFor(relayUrl: string): GatewayIdentity {
  const now = Date.now();
  const caPair = CertificateAuthority.generate('test relay CA', now);
  const ca = new CertificateAuthority(caPair.keyPem, caPair.certPem);
  const signKey = generateKeyPair('Ed25519');
  return {
    gatewayId: GATEWAY_ID, tenantId: 'ten_0123456789', cloudAccountId: 'cld_0123456789', relayUrl, caPin: null,
    relaySignPub: generateKeyPair('Ed25519').publicRaw.toString('base64'), pairedAt: now,
    signKey, boxKey: generateKeyPair('X25519'),
    clientCertPem: ca.issueClient(GATEWAY_ID, signKey.publicKey, now, 3_600_000).certPem, relayCaPem: caPair.certPem,
  };
}

function clientFor(relayUrl: string, backoff: BackoffOptions, connectTimeoutMs = 2000): { client: TunnelClient; records: StatusRecord[] } {
  const records: StatusRecord[] = [];
  const client = TunnelClient.create(identityFor(relayUrl), { backoff, connectTimeoutMs, proxy: {}, version: 'pcg-gateway/test' }, {
    clock: systemClock, log: pino({ level: 'silent' }), reportStatus: (record) => records.push(record),
  }, []);
  return { client, records };
}

/** Every consecutive pair of records is an allowed transition (a repeated state is a refresh, not a transition). */
function assertAllowedTransitions(records: readonly StatusRecord[]): void {
  for (let i = 1; i < records.length; i++) {
    const from = records[i - 1]!.state;
    const to = records[i]!.state;
    if (from !== to) assert.ok(ALLOWED[from].includes(to), `record ${i}: ${from} → ${to} is not an allowed transition`);
  }
}

describe('TunnelClient state machine (no relay)', function () {
  this.timeout(20_000);
  const stopAfter: TunnelClient[] = [];
  afterEach(async () => {
    for (const client of stopAfter.splice(0)) await client.stop();
  });

  it('against a closed port: connecting → backoff → connecting …, then stop() → stopped with reason null', async () => {
    const { client, records } = clientFor('https://127.0.0.1:1', { initialMs: 20, maxMs: 40, floorMs: 10 });
    stopAfter.push(client);
    assert.equal(client.state, 'connecting');
    client.start();
    await waitFor('three backoffs', () => records.filter((r) => r.state === 'backoff').length >= 3, 10_000, 5);
    await client.stop();
    assert.equal(client.state, 'stopped');
    assert.equal(client.stopReason, undefined);
    const states = records.map((r) => r.state);
    assert.equal(states[0], 'connecting');
    assert.equal(states.at(-1), 'stopped');
    assert.equal(states.filter((s) => s === 'stopped').length, 1);
    assert.ok(!states.includes('online'));
    // Strictly alternating until the stop: each attempt fails once, each pause ends in one attempt.
    states.slice(0, -1).forEach((s, i) => assert.equal(s, i % 2 === 0 ? 'connecting' : 'backoff', `record ${i}`));
    assertAllowedTransitions(records);
    const last = records.at(-1)!;
    assert.equal(last.reason, null);
    assert.equal(last.pid, process.pid);
    assert.equal(last.epoch, null);
    assert.equal(last.lastHeartbeatAt, null);
    assert.equal(records[0]!.lastError, null);
    for (const r of records.filter((x) => x.state === 'backoff')) assert.equal(r.lastError, 'PCG_ERR_RELAY_UNREACHABLE');
    assert.ok(records.every((r, i) => i === 0 || r.since >= records[i - 1]!.since), 'since never goes back');
    const count = records.length;
    await client.stop();
    await sleep(100);
    assert.equal(records.length, count, 'a second stop() and the stopped loop report nothing more');
  });

  it('stop() during a backoff pause ends it at once: connecting → backoff → stopped', async () => {
    const { client, records } = clientFor('https://127.0.0.1:1', { initialMs: 60_000, maxMs: 60_000, floorMs: 60_000 });
    stopAfter.push(client);
    client.start();
    await waitFor('backoff', () => client.state === 'backoff', 5000, 5);
    const started = Date.now();
    await client.stop();
    assert.ok(Date.now() - started < 500, `stop() took ${Date.now() - started} ms`);
    assert.deepEqual(records.map((r) => [r.state, r.reason]), [['connecting', null], ['backoff', null], ['stopped', null]]);
  });

  it('stop() before start() stops for good: start() then never connects', async () => {
    const { client, records } = clientFor('https://127.0.0.1:1', { initialMs: 20, maxMs: 40, floorMs: 10 });
    await client.stop();
    client.start();
    await client.done;
    await sleep(100);
    assert.equal(client.state, 'stopped');
    assert.ok(records.every((r) => r.state === 'stopped' && r.reason === null), JSON.stringify(records.map((r) => r.state)));
  });

  describe('against a relay that accepts TCP and never answers', () => {
    let server: Server;
    const sockets: Socket[] = [];
    before(async () => {
      server = createServer((socket) => {
        sockets.push(socket);
        socket.on('error', () => undefined);
        socket.resume(); // read (and discard) the ClientHello, so the peer's FIN is seen
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    after(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('gives up an attempt after connectTimeoutMs (connect plus handshake), then backs off', async () => {
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const { client, records } = clientFor(url, { initialMs: 60_000, maxMs: 60_000, floorMs: 60_000 }, 1000);
      stopAfter.push(client);
      const started = Date.now();
      client.start();
      await waitFor('the attempt to fail', () => client.state === 'backoff', 5000, 5);
      const took = Date.now() - started;
      assert.deepEqual(records.map((r) => [r.state, r.lastError]), [['connecting', null], ['backoff', 'PCG_ERR_RELAY_UNREACHABLE']]);
      assert.ok(took >= 950 && took < 1500, `the attempt took ${took} ms with connectTimeoutMs 1000`);
    });

    it('stop() while connecting returns promptly and closes the half-open connection', async () => {
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const { client, records } = clientFor(url, { initialMs: 20, maxMs: 40, floorMs: 10 }, 5000);
      stopAfter.push(client);
      const before = sockets.length; // the previous test's sockets are still listed
      client.start();
      await waitFor('the connection to be accepted', () => sockets.length === before + 1, 5000, 5);
      const socket = sockets[before]!;
      let socketClosed = false;
      socket.once('close', () => (socketClosed = true));
      const started = Date.now();
      await client.stop();
      const took = Date.now() - started;
      assert.deepEqual(records.map((r) => r.state), ['connecting', 'stopped']);
      assert.ok(took < 1000, `stop() waited ${took} ms for the connect deadline (connectTimeoutMs 5000) instead of abandoning the attempt`);
      await waitFor('the relay side of the socket to close', () => socketClosed, 2000, 5);
    });
  });
});
