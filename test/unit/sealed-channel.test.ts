import { strict as assert } from 'node:assert';
import pino from 'pino';
import nacl from 'tweetnacl';
import WebSocket from 'ws';
import { ManualClock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { encodeFrame } from '../../proto/frame-codec.js';
import { FrameOpener, FrameSealer } from '../../proto/frame-sealer.js';
import { RequestTracker } from '../../proto/request-tracker.js';
import { SealedChannel, type ChannelMessage } from '../../proto/sealed-channel.js';
import { RELAY_FRAME_TYPES, type Frame, type HeartbeatFrame } from '../../proto/schemas/frames.js';
import { RawWsPeer } from '../support/raw-ws-peer.js';
import { RecordingReceiver, SealedPair } from '../support/sealed-pair.js';
import { sleep, waitFor } from '../support/wait-for.js';

const heartbeat = (seq: number): HeartbeatFrame => ({ type: 'heartbeat', seq, time: 1_700_000_000_000, status: { version: 'pcg-gateway/test', uptime_s: seq } });
const FRAME_AUTH_END = { closeCode: 4005, code: 'PCG_ERR_FRAME_AUTH', reason: 'PCG_ERR_FRAME_AUTH' } as const;
const hint = (code: 'PCG_ERR_FRAME_INVALID' | 'PCG_ERR_INTERNAL'): string => new PcgError(code).message;
const CSR = '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n';

/** Asserts a PcgError with `code` and a message matching `message`. */
const pcgError = (code: string, message?: RegExp) => (err: unknown): boolean => {
  assert.ok(err instanceof PcgError, `expected a PcgError, got ${String(err)}`);
  assert.equal(err.code, code);
  if (message) assert.match(err.message, message);
  return true;
};

describe('SealedChannel over real loopback websockets', () => {
  let pair: SealedPair;
  let relayIn: RecordingReceiver;
  let gatewayIn: RecordingReceiver;

  /** Starts both ends; `onRelayFrame` and `onGatewayFrame` are the ends' "handlers". */
  function start(onRelayFrame?: (frame: Frame) => void | Promise<void>, onGatewayFrame?: (frame: Frame) => void): void {
    relayIn = new RecordingReceiver(onRelayFrame);
    gatewayIn = new RecordingReceiver(onGatewayFrame);
    pair.relay.channel.start(relayIn);
    pair.gateway.channel.start(gatewayIn);
  }

  beforeEach(async () => {
    pair = await SealedPair.open();
  });
  afterEach(() => pair.close());

  it('hands an authentic, valid frame of an accepted type to receiver.frame() and stamps lastFrameAt', async () => {
    start();
    assert.equal(pair.relay.channel.lastFrameAt, 1_000_000);
    pair.relay.clock.advance(250);
    pair.gateway.channel.send(heartbeat(1));
    assert.deepEqual(await relayIn.waitForFrames(1), [heartbeat(1)]);
    assert.equal(pair.relay.channel.lastFrameAt, 1_000_250);
    assert.equal(pair.relay.channel.state, 'open');
    assert.equal(pair.relay.channel.isOpen, true);
  });

  it('closes with 4005 PCG_ERR_FRAME_AUTH on both ends when a text message arrives', async () => {
    start();
    pair.gateway.ws.send(JSON.stringify(heartbeat(0)));
    assert.deepEqual(await gatewayIn.waitForEnd(), FRAME_AUTH_END);
    assert.deepEqual(await relayIn.waitForEnd(), FRAME_AUTH_END);
    assert.deepEqual(relayIn.frames, []);
    assert.equal(pair.relay.channel.state, 'closed');
    assert.equal(pair.gateway.channel.state, 'closed');
  });

  it('closes with 4005 when a frame was tampered with', async () => {
    start();
    const bytes = pair.gateway.sealer.seal(encodeFrame(heartbeat(0)));
    bytes[bytes.length - 2]! ^= 0x01;
    pair.gateway.ws.send(bytes);
    assert.deepEqual(await gatewayIn.waitForEnd(), FRAME_AUTH_END);
    assert.deepEqual(await relayIn.waitForEnd(), FRAME_AUTH_END);
    assert.deepEqual(relayIn.frames, []);
  });

  it('closes with 4005 when a frame is replayed, after handling the original once', async () => {
    start();
    const bytes = pair.gateway.sealer.seal(encodeFrame(heartbeat(0)));
    pair.gateway.ws.send(bytes);
    await relayIn.waitForFrames(1);
    pair.gateway.ws.send(bytes);
    assert.deepEqual(await gatewayIn.waitForEnd(), FRAME_AUTH_END);
    assert.deepEqual(await relayIn.waitForEnd(), FRAME_AUTH_END);
    assert.deepEqual(relayIn.frames, [heartbeat(0)]);
  });

  it('answers a schema-invalid frame with PCG_ERR_FRAME_INVALID and stays open', async () => {
    start();
    pair.gateway.channel.send({ type: 'heartbeat', seq: 'one', time: 1, status: { version: 'v', uptime_s: 1 } } as unknown as Frame);
    const [error] = await gatewayIn.waitForFrames(1);
    assert.deepEqual(error, { type: 'error', code: 'PCG_ERR_FRAME_INVALID', message: `heartbeat frame: /seq Expected integer. ${hint('PCG_ERR_FRAME_INVALID')}`, ref: 'heartbeat' });
    pair.gateway.channel.send(heartbeat(2));
    assert.deepEqual(await relayIn.waitForFrames(1), [heartbeat(2)]);
    assert.equal(pair.relay.channel.state, 'open');
    assert.equal(pair.gateway.channel.state, 'open');
    assert.deepEqual([...relayIn.ends, ...gatewayIn.ends], []);
  });

  it('answers a frame type it does not accept with PCG_ERR_FRAME_INVALID and stays open', async () => {
    start();
    // `echo` is relay→gateway: the relay end does not accept it.
    pair.gateway.channel.send({ type: 'echo', id: 3, data: 'x' });
    const [error] = await gatewayIn.waitForFrames(1);
    assert.equal(error?.type, 'error');
    assert.equal((error as { code: string }).code, 'PCG_ERR_FRAME_INVALID');
    assert.equal((error as { message: string }).message, `frame type "echo" is not accepted here. ${hint('PCG_ERR_FRAME_INVALID')}`);
    assert.deepEqual(relayIn.frames, []);
    pair.gateway.channel.send(heartbeat(0));
    assert.deepEqual(await relayIn.waitForFrames(1), [heartbeat(0)]);
    assert.equal(pair.relay.channel.state, 'open');
    assert.deepEqual([...relayIn.ends, ...gatewayIn.ends], []);
  });

  it('an invalid or unaccepted request is answered with its ref and id, so the sender\'s call fails at once', async () => {
    const requests = new RequestTracker();
    start(undefined, (frame) => {
      if (frame.type === 'error' && frame.id !== undefined) requests.rejectWithFrame({ ...frame, id: frame.id });
    });
    const call = (frame: (id: number) => Frame): Promise<unknown> => requests.call((id) => pair.gateway.channel.send(frame(id)), {
      timeoutMs: 1500, onTimeout: () => new PcgError('PCG_ERR_GATEWAY_TIMEOUT', 'no answer within 1500 ms'),
    });
    // A cert.renew whose csr is no PEM (schema-invalid), and an echo (not accepted by the relay end).
    const invalid = call((id) => ({ type: 'cert.renew', id, csr: 'not a pem' }));
    const unaccepted = call((id) => ({ type: 'echo', id, data: 'x' }));
    await Promise.allSettled([invalid, unaccepted]);
    assert.deepEqual(gatewayIn.frames.map((f) => [f.type, (f as { ref?: string }).ref, (f as { id?: number }).id]), [['error', 'cert.renew', 0], ['error', 'echo', 1]]);
    await assert.rejects(invalid, pcgError('PCG_ERR_FRAME_INVALID', /^cert\.renew frame: \/csr/));
    await assert.rejects(unaccepted, pcgError('PCG_ERR_FRAME_INVALID', /^frame type "echo" is not accepted here/));
  });

  it('answers a failing handler with an error frame of its code, the ref and the request id; the channel stays open', async () => {
    start((frame) => {
      if (frame.type === 'cert.renew' && frame.id === 4) throw new PcgError('PCG_ERR_CERT_RENEW', 'the CSR is not for the paired key');
      if (frame.type === 'cert.renew') return Promise.reject(new PcgError('PCG_ERR_CONFLICT', 'renewal already running'));
      if (frame.type === 'heartbeat') throw new Error('store down');
    });
    pair.gateway.channel.send({ type: 'cert.renew', id: 4, csr: CSR });
    assert.deepEqual((await gatewayIn.waitForFrames(1))[0],
      { type: 'error', code: 'PCG_ERR_CERT_RENEW', message: new PcgError('PCG_ERR_CERT_RENEW', 'the CSR is not for the paired key').message, ref: 'cert.renew', id: 4 });
    pair.gateway.channel.send({ type: 'cert.renew', id: 5, csr: CSR });
    assert.deepEqual((await gatewayIn.waitForFrames(2))[1],
      { type: 'error', code: 'PCG_ERR_CONFLICT', message: new PcgError('PCG_ERR_CONFLICT', 'renewal already running').message, ref: 'cert.renew', id: 5 });
    pair.gateway.channel.send(heartbeat(0));
    assert.deepEqual((await gatewayIn.waitForFrames(3))[2],
      { type: 'error', code: 'PCG_ERR_INTERNAL', message: `frame handling failed. ${hint('PCG_ERR_INTERNAL')}`, ref: 'heartbeat' });
    assert.deepEqual(relayIn.frames.map((f) => f.type), ['cert.renew', 'cert.renew', 'heartbeat']);
    assert.equal(pair.relay.channel.state, 'open');
    assert.deepEqual([...relayIn.ends, ...gatewayIn.ends], []);
  });

  it('send() on a channel that is not open throws PCG_ERR_TUNNEL_CLOSED, while closing and once closed', async () => {
    start();
    pair.gateway.channel.close('normal');
    assert.throws(() => pair.gateway.channel.send(heartbeat(0)), pcgError('PCG_ERR_TUNNEL_CLOSED', /^cannot send heartbeat: the tunnel is closing\. /));
    await gatewayIn.waitForEnd();
    await relayIn.waitForEnd();
    assert.throws(() => pair.gateway.channel.send(heartbeat(1)), pcgError('PCG_ERR_TUNNEL_CLOSED', /^cannot send heartbeat: the tunnel is closed\. /));
    assert.throws(() => pair.relay.channel.send({ type: 'heartbeat.ack', seq: 0, server_time: 1 }), pcgError('PCG_ERR_TUNNEL_CLOSED', /^cannot send heartbeat\.ack: the tunnel is closed\. /));
    assert.equal(pair.gateway.channel.isOpen, false);
  });

  it('close() is idempotent: one close frame, one closed() call per end', async () => {
    start();
    pair.gateway.channel.close('normal');
    pair.gateway.channel.close('normal');
    pair.gateway.channel.close('PCG_ERR_INTERNAL');
    const bye = { closeCode: 1000, code: undefined, reason: 'bye' };
    assert.deepEqual(await relayIn.waitForEnd(), bye);
    assert.deepEqual(await gatewayIn.waitForEnd(), bye);
    pair.gateway.channel.close('PCG_ERR_INTERNAL');
    pair.relay.channel.close('normal');
    await sleep(50);
    assert.deepEqual(relayIn.ends, [bye]);
    assert.deepEqual(gatewayIn.ends, [bye]);
  });

  it('close(code) uses the catalogue close code, seen as that code by the peer', async () => {
    start();
    pair.relay.channel.close('PCG_ERR_HEARTBEAT_TIMEOUT', 'silent');
    const end = { closeCode: 4008, code: 'PCG_ERR_HEARTBEAT_TIMEOUT', reason: 'PCG_ERR_HEARTBEAT_TIMEOUT' };
    assert.deepEqual(await gatewayIn.waitForEnd(), end);
    assert.deepEqual(await relayIn.waitForEnd(), end);
  });

  it('handles the pending messages passed to start() first, in order, then live ones', async () => {
    gatewayIn = new RecordingReceiver();
    pair.gateway.channel.start(gatewayIn);
    const pending: ChannelMessage[] = [];
    const early = (data: Buffer, isBinary: boolean): void => void pending.push({ data, isBinary });
    pair.relay.ws.on('message', early);
    for (const seq of [0, 1, 2]) pair.gateway.channel.send(heartbeat(seq));
    await waitFor('three early messages', () => pending.length === 3, 5000, 5);
    pair.relay.ws.off('message', early);
    relayIn = new RecordingReceiver();
    pair.relay.channel.start(relayIn, pending);
    assert.deepEqual(relayIn.frames.map((f) => (f as HeartbeatFrame).seq), [0, 1, 2], 'pending frames are handled inside start()');
    pair.gateway.channel.send(heartbeat(3));
    await relayIn.waitForFrames(4);
    assert.deepEqual(relayIn.frames.map((f) => (f as HeartbeatFrame).seq), [0, 1, 2, 3]);
    assert.equal(pair.relay.channel.state, 'open');
  });

  it('a reply that fails its schema settles our own request with the error at once, and is answered without echoing its id', async () => {
    start();
    pair.gateway.channel.send({ type: 'inventory.response', id: 7, items: [{ kind: 'planet' }] } as unknown as Frame);
    await waitFor('the rejected reply', () => relayIn.rejectedReplies.length === 1, 5000, 5);
    assert.deepEqual(relayIn.rejectedReplies, [{ id: 7, code: 'PCG_ERR_FRAME_INVALID' }]);
    const [error] = await gatewayIn.waitForFrames(1);
    assert.equal((error as { ref?: string }).ref, 'inventory.response');
    assert.equal('id' in error!, false, "a reply's id is the peer's own request id: never echoed");
  });

  it('refuses a frame above the limit before sealing it: PCG_ERR_FRAME_TOO_LARGE, and the tunnel goes on', async () => {
    start();
    const big = { type: 'echo.reply', id: 1, data: 'x'.repeat(60_000) } as const;
    // With the default 1 MiB limit it goes out; a channel whose peer takes 32 KiB refuses it unsent.
    pair.gateway.channel.send(big);
    assert.deepEqual(await relayIn.waitForFrames(1), [big]);
    const limited = await SealedPair.open({}, { gatewayMaxFrameBytes: 32_768 });
    try {
      const limitedRelayIn = new RecordingReceiver();
      limited.relay.channel.start(limitedRelayIn);
      limited.gateway.channel.start(new RecordingReceiver());
      assert.throws(() => limited.gateway.channel.send(big), pcgError('PCG_ERR_FRAME_TOO_LARGE', /echo\.reply frame of \d+ bytes exceeds the tunnel's 32768-byte limit/));
      limited.gateway.channel.send(heartbeat(3));
      assert.deepEqual(await limitedRelayIn.waitForFrames(1), [heartbeat(3)], 'the counter did not move: the next frame opens');
    } finally {
      await limited.close();
    }
  });

  it('start() twice is a wiring mistake and throws', () => {
    start();
    assert.throws(() => pair.relay.channel.start(new RecordingReceiver()), /SealedChannel\.start\(\) called twice/);
  });
});

describe('SealedChannel while the peer is closing', () => {
  it('a handler that fails after the peer\'s close frame (socket CLOSING, close event not yet) leaves no unhandled rejection', async () => {
    const peer = await RawWsPeer.listen();
    const unhandled = new Set<unknown>(); // a Set: mocha re-emits what it traps, so a listener may hear one twice
    const onUnhandled = (reason: unknown): void => void unhandled.add(reason);
    process.on('unhandledRejection', onUnhandled);
    const ws = new WebSocket(peer.url, { perMessageDeflate: false });
    ws.on('error', () => undefined);
    try {
      await new Promise((resolve) => ws.once('open', resolve));
      await peer.connected();
      const toGateway = nacl.randomBytes(32);
      const channel = new SealedChannel(ws, new FrameSealer(nacl.randomBytes(32)), new FrameOpener(toGateway), {
        accepts: RELAY_FRAME_TYPES, clock: new ManualClock(), log: pino({ level: 'silent' }),
      });
      let fail!: (err: unknown) => void;
      const receiver = new RecordingReceiver(() => new Promise<void>((_resolve, reject) => {
        fail = reject;
      }));
      channel.start(receiver);
      peer.sendBinary(new FrameSealer(toGateway).seal(encodeFrame({ type: 'echo', id: 1, data: 'slow' })));
      await receiver.waitForFrames(1);
      peer.sendClose(1001, 'going away');
      await waitFor('the socket to be CLOSING', () => ws.readyState === ws.CLOSING, 5000, 5);
      assert.equal(channel.isOpen, false);
      // The handler now fails (e.g. its own send threw PCG_ERR_TUNNEL_CLOSED, or the store failed).
      fail(new PcgError('PCG_ERR_TUNNEL_CLOSED', 'the tunnel closed while the handler ran'));
      await sleep(50);
      assert.deepEqual([...unhandled].map((e) => String(e)), [], 'a failed handler on a closing tunnel is logged, never a crash');
      await peer.close();
      assert.deepEqual(await receiver.waitForEnd(), { closeCode: 1001, code: undefined, reason: 'going away' });
    } finally {
      process.off('unhandledRejection', onUnhandled);
      ws.terminate();
      await peer.close();
    }
  });
});
