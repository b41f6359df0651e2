import { strict as assert } from 'node:assert';
import pino from 'pino';
import { PcgError } from '../../proto/errors.js';
import { finalReply, HandlerTable, type FrameHandlers, type TracksRequests } from '../../proto/frame-handlers.js';
import { RequestTracker } from '../../proto/request-tracker.js';
import { GATEWAY_FRAME_TYPES, RELAY_FRAME_TYPES, type Frame, type FrameOf } from '../../proto/schemas/frames.js';
import { GatewaySession } from '../../gateway/tunnel/gateway-session.js';
import type { TunnelFeature } from '../../gateway/tunnel/tunnel-feature.js';
import { RecordingReceiver, SealedPair } from '../support/sealed-pair.js';
import { waitFor } from '../support/wait-for.js';

interface FakeSession extends TracksRequests {
  readonly name: string;
}

const session = (name: string): FakeSession => ({ name, requests: new RequestTracker() });

describe('HandlerTable', () => {
  it('refuses two handlers for one frame type', () => {
    const a: FrameHandlers<FakeSession> = { heartbeat: () => undefined };
    const b: FrameHandlers<FakeSession> = { 'vcenter.info': () => undefined, heartbeat: () => undefined };
    assert.throws(() => HandlerTable.register(GATEWAY_FRAME_TYPES, [a, b]), { name: 'Error', message: 'two handlers for heartbeat' });
  });

  it('refuses a handler for a type the peer never sends, on either side', () => {
    // `echo` goes relay→gateway: the relay's table may not handle it, and `heartbeat` is not for the gateway's.
    assert.throws(() => HandlerTable.register<FakeSession>(GATEWAY_FRAME_TYPES, [{ echo: () => undefined }]),
      { name: 'Error', message: 'a handler for echo, which the peer never sends' });
    assert.throws(() => HandlerTable.register<FakeSession>(RELAY_FRAME_TYPES, [{ 'heartbeat.ack': () => undefined }, { heartbeat: () => undefined }]),
      { name: 'Error', message: 'a handler for heartbeat, which the peer never sends' });
    assert.throws(() => HandlerTable.register<FakeSession>(RELAY_FRAME_TYPES, [{ welcome: () => undefined }]),
      { name: 'Error', message: 'a handler for welcome, which the peer never sends' });
  });

  it('accepts lists exactly the registered types, in registration order, and is frozen', () => {
    const table = HandlerTable.register<FakeSession>(GATEWAY_FRAME_TYPES, [
      { 'vcenter.info': () => undefined },
      { heartbeat: () => undefined, error: () => undefined },
      {},
    ]);
    assert.deepEqual(table.accepts, ['vcenter.info', 'heartbeat', 'error']);
    assert.equal(Object.isFrozen(table.accepts), true);
    assert.deepEqual(HandlerTable.register<FakeSession>(RELAY_FRAME_TYPES, []).accepts, []);
  });

  it('dispatches a frame to its handler with the session, returning what the handler returns', async () => {
    const seen: Array<[string, string]> = [];
    const table = HandlerTable.register<FakeSession>(GATEWAY_FRAME_TYPES, [{
      heartbeat: (frame, s) => void seen.push([`heartbeat ${frame.seq}`, s.name]),
      'vcenter.info': async (frame, s) => {
        await Promise.resolve();
        seen.push([`vcenter ${frame.host}`, s.name]);
      },
    }]);
    assert.equal(table.dispatch({ type: 'heartbeat', seq: 3, time: 1, status: { version: 'v', uptime_s: 0 } }, session('s1')), undefined);
    const pending = table.dispatch({ type: 'vcenter.info', host: 'vc.example', thumbprint: null, version: '8.0', datacenters: [] }, session('s2'));
    assert.ok(pending instanceof Promise);
    await pending;
    assert.deepEqual(seen, [['heartbeat 3', 's1'], ['vcenter vc.example', 's2']]);
  });

  it('dispatch of a type without a handler throws PCG_ERR_FRAME_INVALID', () => {
    const table = HandlerTable.register<FakeSession>(GATEWAY_FRAME_TYPES, [{ heartbeat: () => undefined }]);
    assert.throws(() => table.dispatch({ type: 'echo.reply', id: 1, data: 'x' }, session('s')), (err: unknown) => {
      assert.ok(err instanceof PcgError);
      assert.equal(err.code, 'PCG_ERR_FRAME_INVALID');
      assert.equal(err.detail, 'frame type echo.reply is not handled here');
      return true;
    });
  });

  it('finalReply() settles the request its id names and drops an id-less or late reply', async () => {
    const s = session('s');
    const table = HandlerTable.register<FakeSession>(RELAY_FRAME_TYPES, [{ 'cert.renewed': finalReply<FakeSession, 'cert.renewed'>() }]);
    let sent = -1;
    const call = s.requests.call<FrameOf<'cert.renewed'>>((id) => (sent = id), { timeoutMs: 5000, onTimeout: () => new PcgError('PCG_ERR_CERT_RENEW') });
    const reply: FrameOf<'cert.renewed'> = { type: 'cert.renewed', id: sent, cert: '-----BEGIN CERTIFICATE-----', cert_expires_at: 5 };
    assert.equal(table.dispatch({ type: 'cert.renewed', cert: '-----BEGIN CERTIFICATE-----', cert_expires_at: 4 }, s), undefined);
    assert.equal(s.requests.size, 1, 'an id-less reply settles nothing');
    assert.equal(table.dispatch(reply, s), undefined);
    assert.deepEqual(await call, reply);
    assert.equal(table.dispatch(reply, s), undefined);
    assert.equal(s.requests.size, 0);
  });
});

describe('the feature seam on the gateway', () => {
  let pair: SealedPair;
  afterEach(() => pair.close());

  it('a new feature\'s handler for a relay→gateway type receives the frame through an unchanged GatewaySession', async () => {
    const received: Array<{ frame: Frame; session: GatewaySession }> = [];
    // A feature the session has never heard of: it answers `inventory.request` itself.
    const fakeInventory: TunnelFeature = {
      handlers: {
        'inventory.request': (frame, s) => {
          received.push({ frame, session: s });
          s.send({ type: 'inventory.response', id: frame.id, items: [] });
        },
      },
    };
    const table = HandlerTable.register<GatewaySession>(RELAY_FRAME_TYPES, [fakeInventory.handlers!]);
    assert.deepEqual(table.accepts, ['inventory.request']);
    pair = await SealedPair.open({ gateway: table.accepts });
    const relayIn = new RecordingReceiver();
    pair.relay.channel.start(relayIn);
    const gatewaySession = new GatewaySession({ type: 'welcome', epoch: 7, heartbeat_s: 3600, server_time: 1 }, pair.gateway.channel, table, {
      status: () => ({ version: 'pcg-gateway/test', uptime_s: 0 }), clock: pair.gateway.clock, log: pino({ level: 'silent' }),
    }).start([]);
    try {
      const request: FrameOf<'inventory.request'> = { type: 'inventory.request', id: 12, kind: 'datastore', datacenter: 'DC0' };
      pair.relay.channel.send(request);
      await waitFor('the feature to be called', () => received.length === 1, 5000, 5);
      assert.deepEqual(received[0]!.frame, request);
      assert.equal(received[0]!.session, gatewaySession);
      assert.deepEqual(await relayIn.waitForFrames(1), [{ type: 'inventory.response', id: 12, items: [] }]);
      // A type the table does not accept is refused by the channel and never reaches a handler.
      pair.relay.channel.send({ type: 'echo', id: 1, data: 'x' });
      const [, refusal] = await relayIn.waitForFrames(2);
      assert.equal((refusal as { code?: string }).code, 'PCG_ERR_FRAME_INVALID');
      assert.equal(received.length, 1);
      assert.equal(gatewaySession.isOpen, true);
    } finally {
      gatewaySession.close('normal');
      await gatewaySession.ended;
    }
  });
});
