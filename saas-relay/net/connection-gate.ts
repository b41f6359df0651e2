import type { Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { addressKey } from './address-key.js';
import { awaitClientHello } from './client-hello-wait.js';
import { TlsSlots } from './tls-slots.js';

export interface ConnectionGateOptions {
  /**
   * Open connections, all sources together. Above it, a new connection evicts the oldest one
   * that has not yet sent its ClientHello, or is refused when there is none. Keep it below the
   * process's open-file limit (`ulimit -n`). @default 15_000
   */
  readonly maxConnections: number;
  /**
   * Open connections from one source (an IPv4 address or an IPv6 /64); more are reset at accept.
   * @default 256
   */
  readonly maxConnectionsPerAddress: number;
  /** From accept until the whole first TLS record (the ClientHello) has arrived. @default 5000 */
  readonly clientHelloTimeoutMs: number;
  /** From accept until the TLS handshake is complete, waiting for a slot included. @default 15_000 */
  readonly tlsHandshakeTimeoutMs: number;
  /** TLS handshakes run at once; further ones wait in arrival order. @default 128 */
  readonly maxConcurrentTlsHandshakes: number;
  /** How long one handshake holds its slot at most. @default 2000 */
  readonly tlsSlotTimeoutMs: number;
}

export const DEFAULT_CONNECTION_GATE_OPTIONS: ConnectionGateOptions = Object.freeze({
  maxConnections: 15_000,
  maxConnectionsPerAddress: 256,
  clientHelloTimeoutMs: 5000,
  tlsHandshakeTimeoutMs: 15_000,
  maxConcurrentTlsHandshakes: 128,
  tlsSlotTimeoutMs: 2000,
});

/** What the gate has shed since it started; logged when it changes, at most every 10 s. */
export interface ConnectionGateCounts {
  refusedPerAddress: number;
  refusedGlobal: number;
  evicted: number;
  open: number;
}

type ConnectionListener = (this: TlsServer, socket: Socket) => void;

/** Node's TLSSocket keeps the TCP socket it wraps as `_parent` (stable since v0.x). */
const parentOf = (tls: TLSSocket): Socket | undefined => (tls as TLSSocket & { _parent?: Socket })._parent;

/**
 * Everything between TCP accept and a finished TLS handshake, in the order that keeps a flood
 * cheap: (1) bounds per source and overall, checked before anything is allocated; (2) a deadline
 * from accept for the ClientHello, during which a socket costs a descriptor and a timer and
 * nothing else; (3) only sockets whose ClientHello has arrived line up for the bounded TLS slots,
 * so silent sockets never stand in front of working ones; (4) a deadline from accept for the
 * whole TLS handshake. After TLS the HTTP server's own header, request and keep-alive timeouts
 * take over (api-server.ts), and after an upgrade the tunnel's handshake timeout.
 */
export class ConnectionGate {
  #open = 0;
  readonly #perAddress = new Map<string, number>();
  /** Sockets still waiting for their ClientHello, oldest first, with the function that stops the wait. */
  readonly #awaitingHello = new Map<Socket, () => void>();
  /** Every socket not yet past TLS, with its deadline from accept; cleared when its handshake completes. */
  readonly #tlsDeadlines = new Map<Socket, NodeJS.Timeout>();
  readonly #slots: TlsSlots;
  readonly #counts: ConnectionGateCounts = { refusedPerAddress: 0, refusedGlobal: 0, evicted: 0, open: 0 };
  #reported = '';
  readonly #reporter: NodeJS.Timeout;

  private constructor(server: TlsServer, private readonly options: ConnectionGateOptions, tlsListener: ConnectionListener, private readonly log?: Logger) {
    this.#slots = new TlsSlots({ maxInFlight: options.maxConcurrentTlsHandshakes, slotTimeoutMs: options.tlsSlotTimeoutMs },
      (socket) => tlsListener.call(server, socket));
    this.#reporter = setInterval(() => this.#report(), 10_000).unref();
  }

  /** Interposes the gate between the server's TCP accept and its TLS handshake. */
  static install(server: TlsServer, options: Partial<ConnectionGateOptions> = {}, log?: Logger): ConnectionGate {
    const [tlsListener] = server.listeners('connection') as ConnectionListener[];
    if (!tlsListener) throw new Error('the TLS server has no connection listener to gate');
    const gate = new ConnectionGate(server, Object.freeze({ ...DEFAULT_CONNECTION_GATE_OPTIONS, ...options }), tlsListener, log);
    server.removeListener('connection', tlsListener);
    server.on('connection', (socket: Socket) => gate.#onConnection(socket));
    server.on('secureConnection', (tls: TLSSocket) => gate.#secured(parentOf(tls)));
    server.on('tlsClientError', (_err: Error, tls: TLSSocket) => gate.#slots.release(parentOf(tls)));
    return gate;
  }

  get counts(): Readonly<ConnectionGateCounts> {
    return { ...this.#counts, open: this.#open };
  }

  #onConnection(socket: Socket): void {
    // An error before TLS owns the socket (a reset while waiting) must not become uncaught.
    socket.on('error', () => socket.destroy());
    const key = addressKey(socket.remoteAddress);
    if (key === undefined) {
      socket.destroy();
      return;
    }
    const fromKey = this.#perAddress.get(key) ?? 0;
    if (fromKey >= this.options.maxConnectionsPerAddress) {
      this.#counts.refusedPerAddress++;
      socket.resetAndDestroy();
      return;
    }
    if (this.#open >= this.options.maxConnections && !this.#evictOldestSilent()) {
      this.#counts.refusedGlobal++;
      socket.resetAndDestroy();
      return;
    }
    this.#open++;
    this.#perAddress.set(key, fromKey + 1);
    const deadline = setTimeout(() => socket.destroy(), this.options.tlsHandshakeTimeoutMs);
    this.#tlsDeadlines.set(socket, deadline);
    socket.once('close', () => {
      this.#open--;
      const left = (this.#perAddress.get(key) ?? 1) - 1;
      if (left > 0) this.#perAddress.set(key, left);
      else this.#perAddress.delete(key);
      this.#forgetDeadline(socket);
      this.#awaitingHello.delete(socket);
    });
    this.#awaitingHello.set(socket, awaitClientHello(socket, this.options.clientHelloTimeoutMs, () => {
      this.#awaitingHello.delete(socket);
      this.#slots.offer(socket);
    }));
  }

  /**
   * At the global bound, the oldest socket that has not even sent a ClientHello makes room: it has
   * shown nothing, while the newcomer may be a gateway. Sockets in or past TLS are never evicted.
   */
  #evictOldestSilent(): boolean {
    const oldest = this.#awaitingHello.keys().next();
    if (oldest.done) return false;
    const socket = oldest.value;
    this.#awaitingHello.get(socket)?.();
    this.#awaitingHello.delete(socket);
    this.#counts.evicted++;
    socket.resetAndDestroy();
    // Its 'close' (which frees its count) comes later; the newcomer is admitted over the bound by one meanwhile.
    return true;
  }

  #secured(socket: Socket | undefined): void {
    if (!socket) return;
    this.#forgetDeadline(socket);
    this.#slots.release(socket);
  }

  #forgetDeadline(socket: Socket): void {
    clearTimeout(this.#tlsDeadlines.get(socket));
    this.#tlsDeadlines.delete(socket);
  }

  #report(): void {
    const { refusedPerAddress, refusedGlobal, evicted } = this.#counts;
    const line = `${refusedPerAddress}/${refusedGlobal}/${evicted}`;
    if (line === this.#reported) return;
    this.#reported = line;
    this.log?.warn({ ...this.counts, awaitingHello: this.#awaitingHello.size, tlsInFlight: this.#slots.inFlight, tlsQueued: this.#slots.queued },
      'connections shed (totals since start)');
  }

  /**
   * Call before closing the server: destroys every socket not yet past TLS (the HTTP server does
   * not know them, so its close would wait for their deadlines) and stops the gate's timers.
   */
  close(): void {
    clearInterval(this.#reporter);
    for (const socket of [...this.#tlsDeadlines.keys()]) socket.destroy();
    this.#slots.clear();
  }
}
