import type { Logger } from 'pino';
import type { Clock } from '../../proto/clock.js';
import { PcgError, isErrorCode } from '../../proto/errors.js';
import { gatewayStatus, type GatewayStore } from '../store/gateway-store.js';
import type { RelaySignals } from '../store/relay-signals.js';
import type { TunnelRequestStore } from '../store/tunnel-request-store.js';
import type { AnyRoutedOperation, RoutedOperation } from './routed-operation.js';
import type { TunnelSession } from './tunnel-session.js';

export interface GatewayCallsOptions {
  /** This relay process's id (as recorded with the sessions it holds). */
  readonly relayId: string;
  /** A gateway not heard from for this long has no live tunnel anywhere. */
  readonly offlineAfterMs: number;
  /** Safety net under the signals: how often requests and replies are looked for. @default 1000 */
  readonly pollMs: number;
  /** How long the holding relay may take to claim a request before it is taken for gone. @default 3000 */
  readonly claimTimeoutMs: number;
}

export interface GatewayCallsDeps {
  /** Where this relay's own sessions are (the tunnel hub). */
  readonly hub: { session(gatewayId: string): TunnelSession | undefined };
  readonly gateways: GatewayStore;
  readonly requests: TunnelRequestStore;
  readonly signals: RelaySignals;
  readonly operations: readonly AnyRoutedOperation[];
  readonly clock: Clock;
  readonly log: Logger;
}

interface Waiting {
  lastReplyId: number;
  draining: boolean;
  readonly onProgress: ((progress: unknown) => void) | undefined;
  readonly settle: (outcome: { value: unknown } | { error: PcgError }) => void;
}

type ReplyBody = { value: unknown } | { error: { code: string; message: string } };

/**
 * Work for a gateway, asked of any relay. The relay holding the tunnel runs it directly; any
 * other relay hands it over through the store and waits for the answer the same way:
 *
 *   relay B (asked)                       store                       relay A (holds the tunnel)
 *   request row {relay_id: A} ------------> tunnel_requests --NOTIFY tunnel_request(A)--> claim (atomic)
 *                                                                                         run on the session
 *   read replies <--NOTIFY tunnel_reply(id)-- tunnel_replies <------------ progress rows, one final row
 *
 * Signals are LISTEN/NOTIFY on PostgreSQL and in-process on SQLite; a poll every `pollMs` finds
 * whatever a lost signal did not announce. B answers PCG_ERR_GATEWAY_OFFLINE only when no relay
 * holds the tunnel: the store says the gateway is offline, or its relay never claims the request.
 */
export class GatewayCalls {
  readonly #waiting = new Map<string, Waiting>();
  readonly #operations: ReadonlyMap<string, AnyRoutedOperation>;
  #timers: NodeJS.Timeout[] = [];
  #serving = false;
  #serveAgain = false;
  #closed = false;

  private constructor(private readonly options: GatewayCallsOptions, private readonly deps: GatewayCallsDeps) {
    this.#operations = new Map(deps.operations.map((op) => [op.name, op]));
  }

  static create(options: GatewayCallsOptions, deps: GatewayCallsDeps): GatewayCalls {
    const calls = new GatewayCalls(options, deps);
    deps.signals.listen('tunnel_request', (relayId) => {
      if (relayId === options.relayId) calls.#serve();
    });
    deps.signals.listen('tunnel_reply', (requestId) => calls.#drain(requestId));
    calls.#timers.push(setInterval(() => calls.#poll(), options.pollMs));
    calls.#timers.push(setInterval(() => void deps.requests.prune().catch((err: unknown) => deps.log.warn({ err }, 'tunnel request prune failed')), 30_000));
    return calls;
  }

  /** Runs `operation` on the gateway's tunnel wherever it is; PCG_ERR_GATEWAY_OFFLINE when it is nowhere. */
  async call<A, R, P>(gatewayId: string, operation: RoutedOperation<A, R, P>, args: A, options: { timeoutMs: number; onProgress?: (progress: P) => void }): Promise<R> {
    const local = this.deps.hub.session(gatewayId);
    if (local) return operation.run(local, args, options);
    if (this.#closed) throw new PcgError('PCG_ERR_GATEWAY_OFFLINE', 'the relay is shutting down');
    const holder = await this.#holderOf(gatewayId);
    const deadline = this.deps.clock.now() + options.timeoutMs;
    const id = await this.deps.requests.create({ gateway_id: gatewayId, relay_id: holder, operation: operation.name, args: JSON.stringify(args), deadline_at: deadline });
    const outcome = new Promise<{ value: unknown } | { error: PcgError }>((settle) => {
      this.#waiting.set(id, { lastReplyId: 0, draining: false, onProgress: options.onProgress as ((p: unknown) => void) | undefined, settle });
    });
    // The holder times the operation itself and answers with its own error; this timer is the
    // backstop for a holder that died after claiming.
    const backstop = setTimeout(() => this.#giveUp(id, new PcgError('PCG_ERR_GATEWAY_TIMEOUT', `gateway ${gatewayId} did not answer within ${options.timeoutMs} ms (through relay ${holder})`)),
      options.timeoutMs + this.options.pollMs);
    const claimCheck = setTimeout(() => this.#withdrawIfUnclaimed(id, gatewayId, holder), Math.min(this.options.claimTimeoutMs, options.timeoutMs));
    // A lost wake-up costs latency only: the holder's poll finds the row.
    this.deps.signals.notify('tunnel_request', holder).catch((err: unknown) => this.deps.log.warn({ err, requestId: id }, 'cannot signal the relay holding the tunnel; its poll will find the request'));
    try {
      const result = await outcome;
      if ('error' in result) throw result.error;
      return result.value as R;
    } finally {
      clearTimeout(backstop);
      clearTimeout(claimCheck);
      this.#waiting.delete(id);
    }
  }

  /** Idempotent: stops the timers; calls still waiting fail as offline. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    for (const id of [...this.#waiting.keys()]) this.#giveUp(id, new PcgError('PCG_ERR_GATEWAY_OFFLINE', 'the relay is shutting down'));
  }

  async #holderOf(gatewayId: string): Promise<string> {
    const row = await this.deps.gateways.findById(gatewayId);
    const online = row !== undefined && gatewayStatus(row, this.deps.clock.now(), this.options.offlineAfterMs) === 'online';
    // Our own id with no local session: the session closed a moment ago, nobody holds it.
    if (!online || !row.relay_id || row.relay_id === this.options.relayId) {
      throw new PcgError('PCG_ERR_GATEWAY_OFFLINE', `gateway ${gatewayId} has no tunnel to any relay right now`);
    }
    return row.relay_id;
  }

  /**
   * The holder had its chance: if it still has not claimed the request, take it back (atomically
   * against a late claim) and answer offline; if it claimed meanwhile, its answer is on the way.
   */
  #withdrawIfUnclaimed(id: string, gatewayId: string, holder: string): void {
    if (!this.#waiting.has(id)) return;
    this.deps.requests.withdraw(id)
      .then((withdrawn) => {
        const waiting = this.#waiting.get(id);
        if (withdrawn && waiting) waiting.settle({ error: new PcgError('PCG_ERR_GATEWAY_OFFLINE', `relay ${holder}, which held the tunnel of gateway ${gatewayId}, did not take the request`) });
      })
      .catch((err: unknown) => this.deps.log.warn({ err, requestId: id }, 'cannot withdraw a routed request; waiting for its answer'));
  }

  /** Answers the caller now; a request nobody claimed yet is withdrawn so it never runs late. */
  #giveUp(id: string, error: PcgError): void {
    const waiting = this.#waiting.get(id);
    if (!waiting) return;
    this.#waiting.delete(id);
    waiting.settle({ error });
    this.deps.requests.withdraw(id).catch((err: unknown) => this.deps.log.warn({ err, requestId: id }, 'cannot withdraw a routed request'));
  }

  #poll(): void {
    this.#serve();
    for (const id of this.#waiting.keys()) this.#drain(id);
  }

  /** Reads new replies of a request this relay waits for, in order; at most one reader per request. */
  #drain(id: string): void {
    const waiting = this.#waiting.get(id);
    if (!waiting || waiting.draining) return;
    waiting.draining = true;
    this.deps.requests.repliesAfter(id, waiting.lastReplyId)
      .then((replies) => {
        for (const reply of replies) {
          waiting.lastReplyId = reply.id;
          const body = JSON.parse(reply.body) as ReplyBody;
          if (!reply.final) {
            if ('value' in body) waiting.onProgress?.(body.value);
            continue;
          }
          waiting.settle('error' in body ? { error: PcgError.fromRemote(isErrorCode(body.error.code) ? body.error.code : 'PCG_ERR_INTERNAL', body.error.message) } : body);
          return;
        }
      })
      .catch((err: unknown) => this.deps.log.warn({ err, requestId: id }, 'cannot read routed replies; the poll retries'))
      .finally(() => {
        waiting.draining = false;
      });
  }

  /** Claims and runs requests addressed to this relay; one scan at a time, rescanning if woken meanwhile. */
  #serve(): void {
    if (this.#closed) return;
    if (this.#serving) {
      this.#serveAgain = true;
      return;
    }
    this.#serving = true;
    this.deps.requests.pendingFor(this.options.relayId)
      .then(async (rows) => {
        for (const row of rows) {
          if (await this.deps.requests.claim(row.id)) void this.#answer(row.id, row.gateway_id, row.operation, row.args, row.deadline_at);
        }
      })
      .catch((err: unknown) => this.deps.log.warn({ err }, 'cannot read routed requests; the poll retries'))
      .finally(() => {
        this.#serving = false;
        if (this.#serveAgain) {
          this.#serveAgain = false;
          this.#serve();
        }
      });
  }

  async #answer(id: string, gatewayId: string, name: string, args: string, deadline: number): Promise<void> {
    // Progress rows are written one after another, and the final row after all of them; a failed
    // progress row (a store hiccup) must not keep the final one from being written.
    let written = Promise.resolve();
    const reply = (final: boolean, body: ReplyBody): Promise<void> => {
      written = written.catch(() => undefined).then(async () => {
        await this.deps.requests.addReply(id, final, JSON.stringify(body));
        // The asker's poll reads the rows if this wake-up is lost.
        await this.deps.signals.notify('tunnel_reply', id).catch(() => undefined);
      });
      return written;
    };
    let body: ReplyBody;
    try {
      const operation = this.#operations.get(name);
      if (!operation) throw new PcgError('PCG_ERR_INTERNAL', `no routed operation "${name}" on relay ${this.options.relayId}`);
      const session = this.deps.hub.session(gatewayId);
      if (!session) throw new PcgError('PCG_ERR_GATEWAY_OFFLINE', `gateway ${gatewayId} disconnected from relay ${this.options.relayId}`);
      const value = await operation.run(session, JSON.parse(args), {
        timeoutMs: Math.max(1, deadline - this.deps.clock.now()),
        onProgress: (progress) => void reply(false, { value: progress }).catch(() => undefined),
      });
      body = { value };
    } catch (err) {
      const error = PcgError.wrap(err, 'PCG_ERR_INTERNAL');
      // An internal failure's own text (a driver message, an address) stays in this relay's log.
      if (error.code === 'PCG_ERR_INTERNAL') this.deps.log.error({ err, requestId: id, gatewayId }, 'routed request failed');
      const message = error.code === 'PCG_ERR_INTERNAL' ? new PcgError('PCG_ERR_INTERNAL', `routed request ${id} failed`).message : error.message;
      body = { error: { code: error.code, message } };
    }
    await reply(true, body).catch((err: unknown) => this.deps.log.warn({ err, requestId: id }, 'cannot store the answer to a routed request'));
  }
}
