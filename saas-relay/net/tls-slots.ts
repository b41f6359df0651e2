import type { Socket } from 'node:net';

export interface TlsSlotsOptions {
  /** TLS handshakes run at once; more cannot go faster on one core, only thrash. @default 128 */
  readonly maxInFlight: number;
  /**
   * A connection holds its slot at most this long, so a client that sends a ClientHello and then
   * stalls cannot keep a slot from others; its handshake itself may go on (until the gate's TLS
   * deadline). @default 2000
   */
  readonly slotTimeoutMs: number;
}

/**
 * At most `maxInFlight` TLS handshakes at a time, the rest in arrival order. After a relay restart
 * thousands of gateways dial within a second; all handshaking at once, every one crawls. Only
 * sockets whose ClientHello has fully arrived are offered here, so a waiting socket is one that
 * will be served as soon as it reaches the front.
 */
export class TlsSlots {
  #inFlight = 0;
  readonly #queue = new Set<Socket>();
  /** Sockets holding a slot, with the timer that frees it regardless. */
  readonly #held = new Map<Socket, NodeJS.Timeout>();

  constructor(private readonly options: TlsSlotsOptions, private readonly start: (socket: Socket) => void) {}

  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#queue.size;
  }

  /** Starts `socket`'s handshake now or when a slot frees; a socket that closes meanwhile leaves the line. */
  offer(socket: Socket): void {
    if (socket.destroyed) return;
    socket.once('close', () => {
      this.#queue.delete(socket);
      this.release(socket);
    });
    if (this.#inFlight < this.options.maxInFlight) this.#admit(socket);
    else this.#queue.add(socket);
  }

  /** The handshake of `socket` ended (done, failed or the socket closed): its slot goes to the next in line. */
  release(socket: Socket | undefined): void {
    const timer = socket && this.#held.get(socket);
    if (!socket || !timer) return;
    clearTimeout(timer);
    this.#held.delete(socket);
    this.#inFlight--;
    for (const next of this.#queue) {
      if (this.#inFlight >= this.options.maxInFlight) break;
      this.#queue.delete(next);
      if (!next.destroyed) this.#admit(next);
    }
  }

  #admit(socket: Socket): void {
    this.#inFlight++;
    this.#held.set(socket, setTimeout(() => this.release(socket), this.options.slotTimeoutMs));
    this.start(socket);
  }

  /** Frees every slot and forgets the line (the server is closing; its sockets close themselves). */
  clear(): void {
    for (const timer of this.#held.values()) clearTimeout(timer);
    this.#held.clear();
    this.#queue.clear();
    this.#inFlight = 0;
  }
}
