import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ApiClient } from '../support/api-client.js';
import { createGateway, pairCli, runGateway } from '../support/gateway-fixture.js';
import { RawSession } from '../support/raw-session.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';

describe('tunnel frames against a real relay', function () {
  this.timeout(30_000);
  let relay: RelayProcess;
  let api: ApiClient;
  let stateDir: string;
  let gatewayId: string;
  const dir = tempDir('gw-frames');
  let session: RawSession | undefined;

  before(async () => {
    relay = await RelayProcess.start({ args: ['--max-frame-bytes', '65536'] });
    api = new ApiClient(relay.url, relay.caCert, (await relay.createTenant('frames')).apiKey);
    const gw = await createGateway(api, 'dc-frames');
    gatewayId = gw.id;
    stateDir = join(dir.path, 'state');
    assert.equal((await pairCli(relay, stateDir, gw.pairingCode)).code, 0);
  });
  afterEach(() => session?.close());
  after(async () => {
    await relay.stop();
    dir.remove();
  });

  it('answers a sealed heartbeat with an ack and records it', async () => {
    session = await RawSession.open(stateDir);
    assert.ok(session.session.welcome.epoch >= 1);
    session.heartbeat(7);
    const ack = await session.waitForFrame('heartbeat.ack');
    assert.equal(ack.seq, 7);
    await waitFor('online', async () => (await api.get<{ status: string; version: string }>(`/v1/gateways/${gatewayId}`)).body.version === 'raw-test');
  });

  it('an invalid frame gets an error frame with its code and the tunnel survives', async () => {
    session = await RawSession.open(stateDir);
    session.send({ type: 'heartbeat', seq: 'one', time: 1, status: {} });
    const error = await session.waitForFrame('error');
    assert.equal(error.code, 'PCG_ERR_FRAME_INVALID');
    assert.match(error.message, /^heartbeat frame: \/seq/);
    session.send({ type: 'welcome', epoch: 1, heartbeat_s: 1, server_time: 1 });
    await waitFor('second error', () => session!.received.filter((f) => f.type === 'error').length === 2);
    session.heartbeat(1);
    assert.equal((await session.waitForFrame('heartbeat.ack')).seq, 1);
    assert.equal(session.closed, undefined);
  });

  it('a replayed frame closes the tunnel with PCG_ERR_FRAME_AUTH (4005)', async () => {
    session = await RawSession.open(stateDir);
    const bytes = session.heartbeat(1);
    await session.waitForFrame('heartbeat.ack');
    session.sendRaw(bytes);
    assert.deepEqual(await session.waitForClose(), { code: 4005, reason: 'PCG_ERR_FRAME_AUTH' });
  });

  it('a tampered frame closes the tunnel with PCG_ERR_FRAME_AUTH (4005)', async () => {
    session = await RawSession.open(stateDir);
    const sealer = session.session.sealer;
    const bytes = sealer.seal(new TextEncoder().encode(JSON.stringify({ type: 'heartbeat', seq: 1, time: 1, status: { version: 'v', uptime_s: 1 } })));
    bytes[bytes.length - 3]! ^= 0x40;
    session.sendRaw(bytes);
    assert.deepEqual(await session.waitForClose(), { code: 4005, reason: 'PCG_ERR_FRAME_AUTH' });
  });

  it('an unsealed text message after the handshake closes the tunnel', async () => {
    session = await RawSession.open(stateDir);
    session.sendRaw(JSON.stringify({ type: 'heartbeat', seq: 1 }));
    assert.equal((await session.waitForClose()).code, 4005);
  });

  it('an oversized frame closes with 1009', async () => {
    session = await RawSession.open(stateDir);
    session.sendRaw(Buffer.alloc(70_000));
    assert.equal((await session.waitForClose()).code, 1009);
  });

  it('an unknown protocol version is refused with PCG_ERR_PROTO_VERSION', async () => {
    const ws = new WebSocket(relay.tunnelUrl, { ca: relay.caCert });
    await new Promise((resolve) => ws.once('open', resolve));
    const messages: string[] = [];
    ws.on('message', (d: Buffer) => messages.push(d.toString()));
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    ws.send(JSON.stringify({ type: 'hello', proto: [9], gateway_id: gatewayId, eph_pub: Buffer.alloc(32).toString('base64'), nonce: Buffer.alloc(32).toString('base64'), agent: 'x' }));
    assert.equal(await closed, 4426);
    const reject = JSON.parse(messages[0]!) as { type: string; code: string; message: string };
    assert.equal(reject.type, 'reject');
    assert.equal(reject.code, 'PCG_ERR_PROTO_VERSION');
    assert.match(reject.message, /offered protocol versions \[9\], relay supports \[1\]/);
  });

  it('a hello without the gateway\'s client certificate is refused', async () => {
    const ws = new WebSocket(relay.tunnelUrl, { ca: relay.caCert });
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    ws.send(JSON.stringify({ type: 'hello', proto: [1], gateway_id: gatewayId, eph_pub: Buffer.alloc(32).toString('base64'), nonce: Buffer.alloc(32).toString('base64'), agent: 'x' }));
    assert.equal(await closed, 4001);
  });
});

describe('relay admission control', function () {
  this.timeout(30_000);
  it('above the handshake cap, refuses with PCG_ERR_RELAY_BUSY and a retry-after hint', async () => {
    const relay = await RelayProcess.start({ args: ['--max-handshakes', '1', '--busy-retry-after', '750ms'] });
    const dir = tempDir('gw-busy');
    try {
      const api = new ApiClient(relay.url, relay.caCert, (await relay.createTenant('busy')).apiKey);
      const gw = await createGateway(api, 'dc-busy');
      const running = await createGateway(api, 'dc-busy-run');
      assert.equal((await pairCli(relay, join(dir.path, 'run'), running.pairingCode)).code, 0);
      // Hold the only handshake slot with a connection that never says hello.
      const holder = new WebSocket(relay.tunnelUrl, { ca: relay.caCert });
      await new Promise((resolve) => holder.once('open', resolve));
      const probe = new WebSocket(relay.tunnelUrl, { ca: relay.caCert });
      const reject = await new Promise<string>((resolve) => probe.once('message', (d: Buffer) => resolve(d.toString())));
      const closeCode = await new Promise<number>((resolve) => probe.once('close', resolve));
      assert.deepEqual(JSON.parse(reject), { type: 'reject', code: 'PCG_ERR_RELAY_BUSY', message: '1 handshakes in progress. The relay is busy; retry after the indicated delay.', retry_after_ms: 750 });
      assert.equal(closeCode, 1013);
      const busy = await pairCli(relay, join(dir.path, 'a'), gw.pairingCode);
      assert.match(busy.stderr, /^PCG_ERR_RELAY_BUSY: /);
      // A running gateway honours the hint with jitter: it waits within [hint, 2 x hint].
      const gateway = runGateway(join(dir.path, 'run'));
      try {
        const retry = await waitFor('a busy retry', () => gateway.logLines.find((l) => l.code === 'PCG_ERR_RELAY_BUSY'));
        assert.ok((retry.retryInMs as number) >= 750 && (retry.retryInMs as number) <= 1500, `retry in ${retry.retryInMs as number} ms`);
        holder.terminate();
        await waitFor('online once the slot is free', async () => (await api.get<{ status: string }>(`/v1/gateways/${running.id}`)).body.status === 'online');
      } finally {
        await gateway.stop();
      }
      await waitFor('slot freed', async () => (await pairCli(relay, join(dir.path, 'b'), gw.pairingCode)).code === 0);
    } finally {
      await relay.stop();
      dir.remove();
    }
  });
});

describe('relay TLS admission gate', function () {
  this.timeout(30_000);
  it('queues connections beyond the TLS cap in order, and a silent client never takes the slot', async () => {
    const { connect } = await import('node:net');
    const relay = await RelayProcess.start({ args: ['--max-tls-handshakes', '1'] });
    try {
      const api = new ApiClient(relay.url, relay.caCert, (await relay.createTenant('gate')).apiKey);
      // Never sends a ClientHello: it waits apart (issue 7) and never holds the only slot.
      const silent = connect(relay.port, '127.0.0.1');
      await new Promise((resolve) => silent.once('connect', resolve));
      const started = Date.now();
      const results = await Promise.all(Array.from({ length: 20 }, () => api.get<{ name: string }>('/v1/tenant')));
      assert.deepEqual([...new Set(results.map((r) => `${r.status} ${r.body.name}`))], ['200 gate']);
      const waited = Date.now() - started;
      assert.ok(waited < 1500, `20 calls through one TLS slot took ${waited} ms beside a silent client`);
      silent.destroy();
    } finally {
      await relay.stop();
    }
  });
});
