import type { Logger } from 'pino';
import type { Clock } from '../../proto/clock.js';
import type { PcgError } from '../../proto/errors.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { IdentityStore } from '../identity/identity-store.js';
import type { ProxyEnv } from '../net/proxy-for-url.js';
import { StatusWriter } from '../status/status-writer.js';
import { AGENT } from '../tunnel/gateway-handshake.js';
import { TunnelClient } from '../tunnel/tunnel-client.js';
import { VcenterService } from '../vsphere/vcenter-service.js';
import { gatewayFeatures } from './gateway-features.js';

export interface GatewayDaemonDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly proxy: ProxyEnv;
}

export type DaemonState = 'created' | 'running' | 'closing' | 'closed';

/**
 * The gateway process: one object owning the tunnel client, the vCenter service and the status
 * writer (and, as they arrive, the job runner and the registry). create() opens in order and
 * closes again what it opened if a later step fails; close() is the one shutdown path.
 */
export class GatewayDaemon {
  #state: DaemonState = 'created';
  #done: Promise<void> | undefined;

  private constructor(
    readonly gatewayId: string,
    private readonly tunnel: TunnelClient,
    private readonly vcenter: VcenterService | undefined,
    private readonly status: StatusWriter,
    private readonly log: Logger,
  ) {}

  static async create(config: GatewayConfig, deps: GatewayDaemonDeps): Promise<GatewayDaemon> {
    const identityStore = new IdentityStore(config.stateDir);
    const identity = await identityStore.load();
    const status = new StatusWriter(config.stateDir, deps.log);
    const vcenter = config.vcenter ? new VcenterService(config.vcenter, deps.log) : undefined;
    try {
      // Features reach the client lazily (renewed certificates, heartbeat acks): both are made here.
      const tunnel: TunnelClient = TunnelClient.create(identity, {
        backoff: { initialMs: config.backoff.initialMs, maxMs: config.backoff.maxMs, floorMs: 100 },
        connectTimeoutMs: config.connectTimeoutMs, proxy: deps.proxy, version: AGENT,
      }, { clock: deps.clock, log: deps.log, reportStatus: (record) => status.report(record) },
      gatewayFeatures({ identity, identityStore, vcenter, tunnel: () => tunnel, clock: deps.clock, log: deps.log }));
      return new GatewayDaemon(identity.gatewayId, tunnel, vcenter, status, deps.log);
    } catch (err) {
      await vcenter?.close();
      throw err;
    }
  }

  get state(): DaemonState {
    return this.#state;
  }

  /** Why the tunnel stopped by itself (revoked, unknown, superseded), if it did. */
  get stopReason(): PcgError | undefined {
    return this.tunnel.stopReason;
  }

  /** Connects; `done` settles once the daemon has closed, by close() or by a terminal refusal. */
  start(): this {
    if (this.#state !== 'created') throw new Error(`GatewayDaemon.start() in state ${this.#state}`);
    this.#state = 'running';
    this.tunnel.start();
    this.#done = this.tunnel.done.then(() => this.close());
    return this;
  }

  get done(): Promise<void> {
    return this.#done ?? Promise.resolve();
  }

  /** Idempotent: stops the tunnel, waits for the status on disk, closes the vCenter session. */
  async close(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return this.#closing;
    this.#state = 'closing';
    this.#closing = (async () => {
      await this.tunnel.stop();
      await this.status.flush();
      await this.vcenter?.close().catch((err: unknown) => this.log.warn({ err }, 'vCenter logout failed'));
      this.#state = 'closed';
    })();
    return this.#closing;
  }

  #closing: Promise<void> = Promise.resolve();
}
