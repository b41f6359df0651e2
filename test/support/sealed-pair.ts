import type { PcgError } from '../../proto/errors.js';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import nacl from 'tweetnacl';
import WebSocket, { WebSocketServer } from 'ws';
import { ManualClock } from '../../proto/clock.js';
import { FrameOpener, FrameSealer } from '../../proto/frame-sealer.js';
import { SealedChannel, type ChannelEnd, type ChannelReceiver } from '../../proto/sealed-channel.js';
import { GATEWAY_FRAME_TYPES, RELAY_FRAME_TYPES, type Frame, type FrameType } from '../../proto/schemas/frames.js';
import { waitFor } from './wait-for.js';

/** One end of a sealed loopback pair: its socket, its own sealer (for hand-made bytes) and its channel, not started. */
export interface SealedEnd {
  readonly ws: WebSocket;
  readonly sealer: FrameSealer;
  readonly opener: FrameOpener;
  readonly channel: SealedChannel;
  readonly clock: ManualClock;
}

/** Records what a channel hands its owner; `onFrame` decides what the "handler" does. */
export class RecordingReceiver implements ChannelReceiver {
  readonly frames: Frame[] = [];
  readonly ends: ChannelEnd[] = [];
  readonly rejectedReplies: Array<{ id: number; code: string }> = [];

  constructor(private readonly onFrame?: (frame: Frame) => void | Promise<void>) {}

  frame(frame: Frame): void | Promise<void> {
    this.frames.push(frame);
    return this.onFrame?.(frame);
  }

  closed(end: ChannelEnd): void {
    this.ends.push(end);
  }

  replyRejected(id: number, error: PcgError): void {
    this.rejectedReplies.push({ id, code: error.code });
  }

  waitForFrames(count: number): Promise<Frame[]> {
    return waitFor(`${count} frame(s)`, () => (this.frames.length >= count ? this.frames : undefined), 5000, 5);
  }

  waitForEnd(): Promise<ChannelEnd> {
    return waitFor('the channel to close', () => this.ends[0], 5000, 5);
  }
}

/**
 * Two real `ws` websockets over loopback (server on port 0), each with a SealedChannel keyed
 * like a session: the relay end is the server and accepts gateway→relay frame types, the gateway
 * end is the client and accepts relay→gateway types. Channels are not started.
 */
export class SealedPair {
  private constructor(private readonly server: WebSocketServer, readonly relay: SealedEnd, readonly gateway: SealedEnd) {}

  /** `limits.gatewayMaxFrameBytes`: the largest frame the gateway end may send (its peer's limit). */
  static async open(accepts: { relay?: readonly FrameType[]; gateway?: readonly FrameType[] } = {}, limits: { gatewayMaxFrameBytes?: number } = {}): Promise<SealedPair> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate: false });
    client.on('error', () => undefined);
    await new Promise((resolve, reject) => {
      client.once('open', resolve);
      client.once('error', reject);
    });
    const serverWs = await accepted;
    serverWs.on('error', () => undefined);
    const toRelay = nacl.randomBytes(32);
    const toGateway = nacl.randomBytes(32);
    const log = pino({ level: 'silent' });
    const end = (ws: WebSocket, sealKey: Uint8Array, openKey: Uint8Array, types: readonly FrameType[], maxFrameBytes?: number): SealedEnd => {
      const sealer = new FrameSealer(sealKey);
      const opener = new FrameOpener(openKey);
      const clock = new ManualClock(1_000_000);
      return { ws, sealer, opener, clock, channel: new SealedChannel(ws, sealer, opener, { accepts: types, clock, log, ...(maxFrameBytes ? { maxFrameBytes } : {}) }) };
    };
    return new SealedPair(server,
      end(serverWs, toGateway, toRelay, accepts.relay ?? GATEWAY_FRAME_TYPES),
      end(client, toRelay, toGateway, accepts.gateway ?? RELAY_FRAME_TYPES, limits.gatewayMaxFrameBytes));
  }

  /** Drops both sockets and the server; safe to call twice. */
  async close(): Promise<void> {
    this.relay.ws.terminate();
    this.gateway.ws.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
