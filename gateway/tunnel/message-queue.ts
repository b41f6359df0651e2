import type WebSocket from 'ws';
import { codeForClose, PcgError } from '../../proto/errors.js';
import type { ChannelMessage } from '../../proto/sealed-channel.js';

/**
 * Buffers a websocket's messages during the handshake. ws can emit several messages from one
 * TCP read synchronously, so whatever arrived behind `welcome` is handed to the session by
 * `detach()` instead of being lost between two listeners.
 */
export class MessageQueue {
  readonly #queue: ChannelMessage[] = [];
  #waiter: { resolve: (m: ChannelMessage) => void; reject: (e: PcgError) => void } | undefined;
  #closed: PcgError | undefined;
  readonly #onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
    const message = { data: data as Buffer, isBinary };
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter) waiter.resolve(message);
    else this.#queue.push(message);
  };
  readonly #onClose = (code: number, reason: Buffer): void => {
    const known = codeForClose(code);
    this.#closed = known
      ? new PcgError(known, `the relay closed the connection (${code} ${reason.toString()})`)
      : new PcgError('PCG_ERR_RELAY_UNREACHABLE', `the relay closed the connection during the handshake (${code})`);
    this.#waiter?.reject(this.#closed);
    this.#waiter = undefined;
  };

  constructor(private readonly ws: WebSocket) {
    ws.on('message', this.#onMessage);
    ws.on('close', this.#onClose);
  }

  next(timeoutMs: number): Promise<ChannelMessage> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new PcgError('PCG_ERR_RELAY_UNREACHABLE', `the relay did not answer the handshake within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiter = {
        resolve: (m) => { clearTimeout(timer); resolve(m); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
    });
  }

  /** Stops buffering; returns what arrived but was not read yet, in order. */
  detach(): ChannelMessage[] {
    this.ws.off('message', this.#onMessage);
    this.ws.off('close', this.#onClose);
    return this.#queue.splice(0);
  }
}
