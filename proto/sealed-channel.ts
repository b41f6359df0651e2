import type { Logger } from 'pino';
import type WebSocket from 'ws';
import type { Clock } from './clock.js';
import { codeForClose, PcgError, type ErrorCode } from './errors.js';
import { decodeFrame, encodeFrame } from './frame-codec.js';
import { SEAL_OVERHEAD_BYTES, type FrameOpener, type FrameSealer } from './frame-sealer.js';
import { CLOSE_GRACE_MS, MAX_FRAME_BYTES } from './limits.js';
import { REPLY_FRAME_TYPES, REQUEST_FRAME_TYPES, type Frame, type FrameType } from './schemas/frames.js';

/** A websocket message as ws hands it over (also what arrived during the handshake). */
export interface ChannelMessage {
  readonly data: Buffer;
  readonly isBinary: boolean;
}

/** How a channel ended: the websocket close code and, when it is one of ours, its error code. */
export interface ChannelEnd {
  readonly closeCode: number;
  readonly code: ErrorCode | undefined;
  readonly reason: string;
}

/** Who gets what the channel receives: its owner (a session), never a feature directly. */
export interface ChannelReceiver {
  /** An authentic, schema-valid frame of an accepted type. A throw or rejection is answered with an `error` frame. */
  frame(frame: Frame): void | Promise<void>;
  /** Called once, when the socket has closed. */
  closed(end: ChannelEnd): void;
  /**
   * A reply to one of this end's requests was refused (invalid, or its handler failed): the
   * request `id` should fail now with `error` rather than wait for its deadline.
   */
  replyRejected(id: number, error: PcgError): void;
}

export interface SealedChannelOptions {
  /** Frame types this end accepts; anything else is answered with PCG_ERR_FRAME_INVALID. */
  readonly accepts: readonly FrameType[];
  /** Largest sealed message the peer accepts; a larger frame is refused by send(), not sent. @default MAX_FRAME_BYTES */
  readonly maxFrameBytes?: number;
  readonly clock: Clock;
  readonly log: Logger;
  /**
   * The peer's identity, added to every line this channel logs so each says whose frame it was.
   * Bound only when a line is written: a child logger per idle tunnel costs ~300 B × 10,000.
   */
  readonly logBindings?: Readonly<Record<string, unknown>>;
}

export type ChannelState = 'open' | 'closing' | 'closed';

/**
 * The sealed websocket after a handshake, with the one receive policy both ends share:
 *
 *   binary message --open--> plaintext --decode+validate--> frame --> receiver.frame()
 *        |                       |                                        |
 *   text / tag fails        not JSON / schema / type not accepted    handler throws
 *        v                       v                                        v
 *   close 4005 (PCG_ERR_FRAME_AUTH)   `error` frame {code, message, ref, id}; the connection survives
 *
 * A frame that fails authentication cannot be answered (the peer's keys or counters are off), so
 * only that ends the connection. `send()` on a channel that is not open throws
 * PCG_ERR_TUNNEL_CLOSED: a caller always learns that its frame did not go out.
 */
export class SealedChannel {
  #state: ChannelState = 'open';
  #lastFrameAt = 0;
  #receiver: ChannelReceiver | undefined;
  #graceTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly sealer: FrameSealer,
    private readonly opener: FrameOpener,
    private readonly options: SealedChannelOptions,
  ) {}

  /**
   * Starts receiving. `pending` are messages that arrived behind the handshake's last message
   * before this listener existed; they are handled first, in order.
   */
  start(receiver: ChannelReceiver, pending: readonly ChannelMessage[] = []): void {
    if (this.#receiver) throw new Error('SealedChannel.start() called twice');
    this.#receiver = receiver;
    this.#lastFrameAt = this.options.clock.now();
    this.ws.once('close', (closeCode: number, reason: Buffer) => this.#onClose(closeCode, reason.toString()));
    this.ws.on('message', (data, isBinary) => this.#receive({ data: data as Buffer, isBinary }));
    for (const message of pending) this.#receive(message);
    // The socket may have closed before 'close' had a listener: settle now rather than never.
    if (this.ws.readyState === this.ws.CLOSED) this.#onClose(1006, 'closed during the handshake');
  }

  get state(): ChannelState {
    return this.#state;
  }

  /** Open and able to send right now. */
  get isOpen(): boolean {
    return this.#state === 'open' && this.ws.readyState === this.ws.OPEN;
  }

  /** When the last authentic frame arrived (ms); silence detection reads it. */
  get lastFrameAt(): number {
    return this.#lastFrameAt;
  }

  /**
   * Seals and sends. Throws PCG_ERR_TUNNEL_CLOSED when the channel is not open, and
   * PCG_ERR_FRAME_TOO_LARGE for a frame the peer would refuse by closing the whole tunnel (1009):
   * the caller answers with an error instead, and the tunnel stays.
   */
  send(frame: Frame): void {
    if (this.#state !== 'open' || this.ws.readyState !== this.ws.OPEN) {
      throw new PcgError('PCG_ERR_TUNNEL_CLOSED', `cannot send ${frame.type}: the tunnel is ${this.#state === 'open' ? 'closing' : this.#state}`);
    }
    const plaintext = encodeFrame(frame);
    // Checked before sealing: a sealed frame that is then not sent would leave a gap in the counter.
    const limit = this.options.maxFrameBytes ?? MAX_FRAME_BYTES;
    if (plaintext.length + SEAL_OVERHEAD_BYTES > limit) {
      throw new PcgError('PCG_ERR_FRAME_TOO_LARGE', `${frame.type} frame of ${plaintext.length} bytes exceeds the tunnel's ${limit}-byte limit`);
    }
    this.ws.send(this.sealer.seal(plaintext));
  }

  /** Closes with the catalogue's close code for `code` (1000 for 'normal'); idempotent. */
  close(code: ErrorCode | 'normal', detail?: string): void {
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    if (code === 'normal') this.ws.close(1000, 'bye');
    else this.ws.close(new PcgError(code, detail).closeCode, code);
    this.#graceTimer = setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS);
    this.#graceTimer.unref();
  }

  /** Drops the socket without a close handshake: the peer or the path is gone. */
  terminate(): void {
    this.#state = this.#state === 'closed' ? 'closed' : 'closing';
    this.ws.terminate();
  }

  #receive(message: ChannelMessage): void {
    if (this.#state !== 'open') return;
    let frame: Frame;
    let plaintext: Uint8Array | undefined;
    try {
      if (!message.isBinary) throw new PcgError('PCG_ERR_FRAME_AUTH', 'unsealed text message after the handshake');
      plaintext = this.opener.open(message.data);
      this.#lastFrameAt = this.options.clock.now();
      frame = decodeFrame(plaintext, this.options.accepts);
    } catch (err) {
      this.#reject(err, plaintext ? peekRequest(plaintext) : undefined);
      return;
    }
    let handled: void | Promise<void>;
    try {
      handled = this.#receiver!.frame(frame);
    } catch (err) {
      this.#reject(err, frame);
      return;
    }
    if (handled) handled.catch((err: unknown) => this.#reject(err, frame));
  }

  #log(): Logger {
    return this.options.logBindings ? this.options.log.child(this.options.logBindings) : this.options.log;
  }

  /** `frame`: what is known of the frame being answered (all of it, or what could be read of an invalid one). */
  #reject(err: unknown, frame: { type: string; id?: unknown } | undefined): void {
    const error = PcgError.wrap(err, 'PCG_ERR_INTERNAL', 'frame handling failed');
    if (error.code === 'PCG_ERR_FRAME_AUTH') {
      this.#log().warn({ code: error.code, detail: error.detail }, 'closing tunnel: frame failed authentication');
      this.close('PCG_ERR_FRAME_AUTH', error.detail);
      return;
    }
    const replyId = frame !== undefined && REPLY_FRAME_TYPES.includes(frame.type as FrameType) ? requestIdOf(frame) : undefined;
    if (replyId !== undefined) this.#receiver?.replyRejected(replyId, error);
    // A handler that failed because the tunnel is closing (the peer's close frame may already be
    // in): nobody is left to tell, and a send now would only throw.
    if (!this.isOpen) return;
    this.#log().info({ code: error.code, detail: error.detail ?? error.message, ref: frame?.type, err: error.code === 'PCG_ERR_INTERNAL' ? err : undefined }, 'rejected frame');
    // Only a request's id is echoed: it settles the peer's request. A reply's id is the peer's
    // own, and echoing it would fail some unrelated request of ours on the peer's side.
    const id = frame !== undefined && REQUEST_FRAME_TYPES.includes(frame.type as FrameType) ? requestIdOf(frame) : undefined;
    const ref = frame ? frame.type.slice(0, 64) : undefined;
    // An internal failure's own text (a driver message, an address) stays in this end's log.
    const message = error.code === 'PCG_ERR_INTERNAL' ? new PcgError('PCG_ERR_INTERNAL', 'frame handling failed').message : error.message;
    this.send({ type: 'error', code: error.code, message: message.slice(0, 2048), ...(ref ? { ref } : {}), ...(id !== undefined ? { id } : {}) });
  }

  #onClose(closeCode: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#graceTimer);
    this.#receiver?.closed({ closeCode, code: codeForClose(closeCode), reason });
  }
}

function requestIdOf(frame: { id?: unknown }): number | undefined {
  return Number.isSafeInteger(frame.id) && (frame.id as number) >= 0 ? (frame.id as number) : undefined;
}

/** The type and id of an authentic frame that failed validation, as far as they can be read. */
function peekRequest(plaintext: Uint8Array): { type: string; id?: unknown } | undefined {
  try {
    const value = JSON.parse(Buffer.from(plaintext).toString('utf8')) as unknown;
    if (typeof value !== 'object' || value === null) return undefined;
    const { type, id } = value as { type?: unknown; id?: unknown };
    return typeof type === 'string' ? { type, id } : undefined;
  } catch {
    return undefined;
  }
}
