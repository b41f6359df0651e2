import type { Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';

export interface TlsAdmissionOptions {
  /** TLS handshakes run at once; more cannot go faster on one core, only thrash. @default 128 */
  readonly maxInFlight: number;
  /** Accepted connections waiting for a slot; beyond it new ones are dropped. @default 20_000 */
  readonly maxQueued: number;
  /**
   * A connection holds its slot at most this long, so clients that connect and never finish
   * their handshake cannot starve the rest; its handshake itself may go on. @default 2000
   */
  readonly slotTimeoutMs: number;
}

type ConnectionListener = (this: TlsServer, socket: Socket) => void;

/**
 * Admission before TLS. After a relay restart thousands of gateways dial within a second: left
 * alone, the kernel's accept queue overflows (SYNs dropped, retried after 1, 3, 7… s) and every
 * accepted socket starts its TLS handshake at once, so all of them crawl. The gate accepts every
 * connection at once (draining the kernel queue) but hands them to TLS in arrival order, at most
 * `maxInFlight` handshakes at a time; a waiting socket costs only its file descriptor.
 */
export class TlsAdmissionGate {
  #inFlight = 0;
  readonly #queue: Socket[] = [];
  /** Admitted sockets still holding a slot, with the timer that frees it regardless. */
  readonly #pending = new WeakMap<Socket, NodeJS.Timeout>();
  readonly #tlsListener: ConnectionListener;

  private constructor(private readonly server: TlsServer, private readonly options: TlsAdmissionOptions) {
    const [listener] = server.listeners('connection') as ConnectionListener[];
    if (!listener) throw new Error('the TLS server has no connection listener to gate');
    this.#tlsListener = listener;
  }

  /** Interposes the gate between the server's TCP accept and its TLS handshake. */
  static install(server: TlsServer, options: TlsAdmissionOptions): TlsAdmissionGate {
    const gate = new TlsAdmissionGate(server, options);
    server.removeListener('connection', gate.#tlsListener);
    server.on('connection', (socket: Socket) => gate.#onConnection(socket));
    // The TLS socket's `_parent` is the TCP socket we admitted (node's own field, stable since v0.x).
    const parentOf = (tls: TLSSocket): Socket | undefined => (tls as TLSSocket & { _parent?: Socket })._parent;
    server.on('secureConnection', (tls: TLSSocket) => gate.#release(parentOf(tls)));
    server.on('tlsClientError', (_err: Error, tls: TLSSocket) => gate.#release(parentOf(tls)));
    return gate;
  }

  #onConnection(socket: Socket): void {
    if (this.#inFlight < this.options.maxInFlight) {
      this.#admit(socket);
      return;
    }
    if (this.#queue.length >= this.options.maxQueued) {
      socket.destroy();
      return;
    }
    this.#queue.push(socket);
    socket.on('error', () => socket.destroy());
  }

  #admit(socket: Socket): void {
    this.#inFlight++;
    this.#pending.set(socket, setTimeout(() => this.#release(socket), this.options.slotTimeoutMs).unref());
    socket.once('close', () => this.#release(socket));
    this.#tlsListener.call(this.server, socket);
  }

  #release(socket: Socket | undefined): void {
    const timer = socket && this.#pending.get(socket);
    if (!socket || !timer) return;
    clearTimeout(timer);
    this.#pending.delete(socket);
    this.#inFlight--;
    while (this.#inFlight < this.options.maxInFlight && this.#queue.length > 0) {
      const next = this.#queue.shift()!;
      // A client that gave up while waiting has closed its socket: skip it.
      if (!next.destroyed && next.readable) this.#admit(next);
    }
  }
}
