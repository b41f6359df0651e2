import pg from 'pg';
import type { Logger } from 'pino';
import type { RelaySignals, SignalChannel } from './relay-signals.js';

const CHANNELS: readonly SignalChannel[] = ['tunnel_request', 'tunnel_reply', 'job_queued', 'cluster_event'];
const RELISTEN_MS = 1000;

/**
 * Signals between relays through PostgreSQL LISTEN/NOTIFY: one dedicated connection listens (a
 * pooled one cannot: LISTEN belongs to a session), NOTIFY goes through the pool. If the listening
 * connection drops it is re-opened after a second; meanwhile the callers' polls carry the work.
 */
export class PostgresSignals implements RelaySignals {
  readonly #listeners = new Map<SignalChannel, Array<(payload: string) => void>>();
  #client: pg.Client | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;

  private constructor(private readonly url: string, private readonly pool: pg.Pool, private readonly log: Logger) {}

  static async create(url: string, pool: pg.Pool, log: Logger): Promise<PostgresSignals> {
    const signals = new PostgresSignals(url, pool, log);
    await signals.#connect();
    return signals;
  }

  async notify(channel: SignalChannel, payload: string): Promise<void> {
    await this.pool.query('select pg_notify($1, $2)', [`pcg_${channel}`, payload]);
  }

  listen(channel: SignalChannel, listener: (payload: string) => void): void {
    this.#listeners.set(channel, [...(this.#listeners.get(channel) ?? []), listener]);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    // TCP keepalive: a connection a firewall dropped in silence would otherwise never say so.
    const client = new pg.Client({ connectionString: this.url, keepAlive: true });
    client.on('notification', (message) => {
      const channel = message.channel.replace(/^pcg_/, '') as SignalChannel;
      for (const listener of this.#listeners.get(channel) ?? []) listener(message.payload ?? '');
    });
    client.on('error', (err) => {
      this.log.warn({ err }, 'store signal connection failed; re-listening (polls carry the work meanwhile)');
      this.#lost(client);
    });
    client.on('end', () => this.#lost(client));
    try {
      await client.connect();
      for (const channel of CHANNELS) await client.query(`LISTEN pcg_${channel}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    client.end().catch(() => undefined);
    this.#scheduleConnect();
  }

  #scheduleConnect(): void {
    if (this.#closed || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#connect().catch((err: unknown) => {
        this.log.warn({ err }, 'cannot re-listen for store signals; retrying');
        this.#scheduleConnect();
      });
    }, RELISTEN_MS);
  }
}
