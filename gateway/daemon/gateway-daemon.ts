import type { Logger } from 'pino';
import type { Clock } from '../../proto/clock.js';
import type { PcgError } from '../../proto/errors.js';
import { ClusterExecutor } from '../clusters/cluster-executor.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { GatewayHttpsServer } from '../http/gateway-https-server.js';
import { IdentityStore } from '../identity/identity-store.js';
import { DriftWatcher } from '../jobs/drift-watcher.js';
import { failpointHook } from '../jobs/failpoint.js';
import type { JobExecutor } from '../jobs/job-executor.js';
import { JobJournal } from '../jobs/job-journal.js';
import { JobReporter } from '../jobs/job-reporter.js';
import { JobRunner } from '../jobs/job-runner.js';
import { unconfiguredExecutor } from '../jobs/unconfigured-executor.js';
import { withClusterPacks } from '../registry/cluster-packs-executor.js';
import type { ProxyEnv } from '../net/proxy-for-url.js';
import { ClusterCaStore } from '../nodes/cluster-ca-store.js';
import { NodeReadinessService } from '../nodes/node-readiness-service.js';
import { registerNodeReadyRoute } from '../nodes/node-ready-route.js';
import { NodeTokens } from '../nodes/node-tokens.js';
import { EmbeddedRegistry } from '../registry/embedded-registry.js';
import { StatusWriter } from '../status/status-writer.js';
import { AGENT } from '../tunnel/gateway-handshake.js';
import { TunnelClient } from '../tunnel/tunnel-client.js';
import { VcenterService } from '../vsphere/vcenter-service.js';
import { gatewayFeatures } from './gateway-features.js';

export interface GatewayDaemonDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly proxy: ProxyEnv;
  /**
   * Test-only: the checkpoint at which the process kills itself with SIGKILL (fault tests).
   * @default process.env.PCG_FAILPOINT
   */
  readonly failpoint?: string | undefined;
}

export type DaemonState = 'created' | 'running' | 'closing' | 'closed';

/** What the daemon opened, closed in reverse order on failure and by close(). */
interface Parts {
  readonly tunnel: TunnelClient;
  readonly vcenter: VcenterService | undefined;
  readonly status: StatusWriter;
  readonly journal: JobJournal;
  readonly https: GatewayHttpsServer;
  readonly readiness: NodeReadinessService;
  readonly registry: EmbeddedRegistry | undefined;
  readonly runner: JobRunner;
  readonly reporter: JobReporter;
  readonly drift: DriftWatcher | undefined;
}

/**
 * The gateway process: one object owning the tunnel client, the vCenter service, the job journal,
 * runner and reporter, the HTTPS server nodes phone home to, and the status writer. create()
 * opens in order and closes again what it opened if a later step fails; close() is the one
 * shutdown path.
 */
export class GatewayDaemon {
  #state: DaemonState = 'created';
  #done: Promise<void> | undefined;
  #closing: Promise<void> = Promise.resolve();

  private constructor(readonly gatewayId: string, private readonly parts: Parts, private readonly log: Logger) {}

  static async create(config: GatewayConfig, deps: GatewayDaemonDeps): Promise<GatewayDaemon> {
    const { clock, log } = deps;
    const identityStore = new IdentityStore(config.stateDir);
    const identity = await identityStore.load();
    const status = new StatusWriter(config.stateDir, log);
    const undo: Array<() => unknown> = [];
    try {
      const vcenter = config.vcenter ? new VcenterService(config.vcenter, log) : undefined;
      undo.push(() => vcenter?.close());
      const journal = JobJournal.open(config.stateDir, clock);
      undo.push(() => journal.close());
      const tokens = await NodeTokens.load(config.stateDir);
      const https = await GatewayHttpsServer.create({ ...config.https, stateDir: config.stateDir }, { clock, log });
      undo.push(() => https.close());
      const readiness = new NodeReadinessService(tokens, journal, () => ({ url: https.url, caPem: https.caPem }), log, await ClusterCaStore.open(config.stateDir, clock));
      undo.push(() => readiness.close());
      registerNodeReadyRoute(https.app, tokens, readiness);
      // The pack registry's routes go on the same server, before listen (the pack API: PACK_ROUTES in embedded-registry.ts).
      const registry = config.registry.enabled
        ? await EmbeddedRegistry.open({ stateDir: config.stateDir, username: config.registry.username, passwordFile: config.registry.passwordFile }, { app: https.app, clock, log, readTokens: tokens, proxy: deps.proxy })
        : undefined;
      undo.push(() => registry?.close());
      await https.listen();

      const cluster = vcenter
        ? new ClusterExecutor({ vcenter, clock, log, readyTimeoutMs: config.jobs.nodeReadyTimeoutMs, cloneConcurrency: config.jobs.cloneConcurrency, clusterKeys: readiness })
        : undefined;
      // Public packs are pulled through and each cluster's node token scoped to its packs before nodes boot.
      const executor: JobExecutor = cluster ? (registry ? withClusterPacks(cluster, registry.clusterPacks) : cluster) : unconfiguredExecutor;
      // The reporter and the runner tell each other things (new outbox entries; jobs the relay ended): made together.
      const reporter: JobReporter = new JobReporter({}, { journal, log, relayEnded: (jobId, state) => relayEnded(jobId, state) });
      undo.push(() => reporter.close());
      const { retryLimit, retryInitialMs, retryMaxMs } = config.jobs;
      const runner = JobRunner.create({ maxConcurrent: config.jobs.maxConcurrent, retry: { retryLimit, retryInitialMs, retryMaxMs } }, {
        journal, executor, readiness, clock, log, ...(vcenter ? { outages: vcenter } : {}),
        checkpoint: failpointHook(deps.failpoint ?? process.env.PCG_FAILPOINT),
        outboxChanged: (jobId) => reporter.changed(jobId),
      });
      undo.push(() => runner.close());
      const relayEnded = (jobId: string, state: string): void => {
        log.warn({ jobId, relayState: state }, 'the relay holds this job as ended; stopping it here');
        if (runner.state === 'running') runner.cancel(jobId);
      };
      const drift = cluster
        ? new DriftWatcher({ intervalMs: config.jobs.driftCheckIntervalMs }, { journal, inspector: cluster, clusterBusy: (id) => runner.isClusterBusy(id), log })
        : undefined;
      undo.push(() => drift?.close());

      // Features reach the client lazily (renewed certificates, heartbeat acks): both are made here.
      const tunnel: TunnelClient = TunnelClient.create(identity, {
        backoff: { initialMs: config.backoff.initialMs, maxMs: config.backoff.maxMs, floorMs: 100 },
        connectTimeoutMs: config.connectTimeoutMs, proxy: deps.proxy, version: AGENT,
      }, { clock, log, reportStatus: (record) => status.report({ ...record, jobs: runner.counts }) },
      gatewayFeatures({ identity, identityStore, vcenter, tunnel: () => tunnel, clock, log, jobs: { runner, reporter, drift } }));
      return new GatewayDaemon(identity.gatewayId, { tunnel, vcenter, status, journal, https, readiness, registry, runner, reporter, drift }, log);
    } catch (err) {
      for (const step of undo.reverse()) {
        await Promise.resolve().then(step).catch((closeErr: unknown) => log.warn({ err: closeErr }, 'cleanup after a failed start failed'));
      }
      throw err;
    }
  }

  get state(): DaemonState {
    return this.#state;
  }

  /** Why the tunnel stopped by itself (revoked, unknown, superseded), if it did. */
  get stopReason(): PcgError | undefined {
    return this.parts.tunnel.stopReason;
  }

  /** The URL nodes phone home to (and the registry will serve under). */
  get httpsUrl(): string {
    return this.parts.https.url;
  }

  /** Jobs executing and waiting. */
  get jobs(): { readonly running: number; readonly queued: number } {
    return this.parts.runner.counts;
  }

  /** Runs journaled jobs and connects; `done` settles once the daemon has closed, by close() or by a terminal refusal. */
  start(): this {
    if (this.#state !== 'created') throw new Error(`GatewayDaemon.start() in state ${this.#state}`);
    this.#state = 'running';
    this.parts.runner.start();
    this.parts.tunnel.start();
    this.#done = this.parts.tunnel.done.then(() => this.close());
    return this;
  }

  get done(): Promise<void> {
    return this.#done ?? Promise.resolve();
  }

  /**
   * Idempotent. Order: no new work (tunnel), no new checks (drift), running jobs aborted and left
   * unfinished in the journal (they resume at the next start), then the HTTPS server, the journal,
   * the status on disk and the vCenter session.
   */
  async close(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return this.#closing;
    this.#state = 'closing';
    const p = this.parts;
    const step = async (what: string, close: () => unknown): Promise<void> => {
      try {
        await close();
      } catch (err) {
        this.log.warn({ err }, `closing ${what} failed`);
      }
    };
    this.#closing = (async () => {
      await step('the tunnel', () => p.tunnel.stop());
      await step('the drift watcher', () => p.drift?.close());
      await step('the job runner', () => p.runner.close());
      await step('node readiness', () => p.readiness.close());
      await step('the job reporter', () => p.reporter.close());
      await step('the HTTPS server', () => p.https.close());
      await step('the registry', () => p.registry?.close());
      await step('the job journal', () => p.journal.close());
      await step('the status file', () => p.status.flush());
      await step('the vCenter session', () => p.vcenter?.close());
      this.#state = 'closed';
    })();
    return this.#closing;
  }
}
