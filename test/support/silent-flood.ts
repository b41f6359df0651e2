import { connect, type Socket } from 'node:net';

export interface FloodOptions {
  readonly port: number;
  /** Connections held open at once, spread evenly over `addresses`. */
  readonly count: number;
  /** Loopback source addresses to bind (`localAddress`), e.g. 127.0.0.2 … 127.0.0.11. */
  readonly addresses: readonly string[];
  /** Re-open every connection the server closes, at once, until stop(). */
  readonly reopen: boolean;
  /**
   * What each connection sends: nothing, or a TLS record header promising a 512-byte ClientHello
   * and 2 bytes of it (a socket that has "sent its first bytes" and then stalls). 'mixed' is half
   * and half.
   */
  readonly mode: 'silent' | 'partial-hello' | 'mixed';
}

const PARTIAL_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]);

/**
 * An attacker on loopback: `count` TCP connections that never complete a TLS handshake. Owns
 * every socket it opens; stop() destroys them all and stops re-opening.
 */
export class SilentFlood {
  #stopped = false;
  readonly #sockets = new Set<Socket>();
  /** Connections the server closed (or refused) while the flood ran. */
  closedByServer = 0;
  opened = 0;

  private constructor(private readonly options: FloodOptions) {}

  /** Opens all connections and resolves once each has connected or been refused. */
  static async start(options: FloodOptions): Promise<SilentFlood> {
    const flood = new SilentFlood(options);
    await Promise.all(Array.from({ length: options.count }, (_, i) => flood.#open(i)));
    return flood;
  }

  /** Connections open right now. */
  get open(): number {
    return this.#sockets.size;
  }

  #open(i: number): Promise<void> {
    const { port, addresses, mode } = this.options;
    const localAddress = addresses[i % addresses.length]!;
    return new Promise((resolve) => {
      const socket = connect({ port, host: '127.0.0.1', localAddress });
      const openedAt = Date.now();
      this.#sockets.add(socket);
      socket.on('error', () => undefined);
      socket.resume(); // read and drop, so a close by the server is seen at once
      socket.once('connect', () => {
        this.opened++;
        if (mode === 'partial-hello' || (mode === 'mixed' && i % 2 === 1)) socket.write(PARTIAL_HELLO);
        resolve();
      });
      socket.once('close', () => {
        this.#sockets.delete(socket);
        resolve();
        if (this.#stopped) return;
        this.closedByServer++;
        if (!this.options.reopen) return;
        // At once, unless the server refused at accept: then a short pause, so the test's own
        // process does not spin and steal the CPU the relay is measured with.
        const again = (): void => {
          if (!this.#stopped) void this.#open(i);
        };
        if (Date.now() - openedAt < 50) setTimeout(again, 50);
        else setImmediate(again);
      });
    });
  }

  /** Destroys every connection and stops re-opening. */
  stop(): void {
    this.#stopped = true;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }
}
