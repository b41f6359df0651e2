import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { PcgError } from '../../proto/errors.js';
import type { GatewayLauncher } from '../setup/gateway-launcher.js';
import { setupLockHolder } from '../setup/setup-lock.js';
import { runSetup, type SetupOptions } from '../setup/setup-runner.js';
import type { SetupSettings } from '../setup/setup-settings.js';
import type { SetupToken } from '../setup/setup-token.js';
import { FailureLimiter } from './failure-limiter.js';
import { installerDirProgress } from './setup-progress.js';
import type { CheckReport } from './wizard-api.js';
import { registerWizardRoutes, sendError, SECURITY_HEADERS } from './wizard-routes.js';
import { WizardStateFeed } from './wizard-state-feed.js';
import type { WizardTls } from './wizard-tls.js';

export interface WizardServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly tls: WizardTls;
  readonly token: SetupToken;
  readonly installerDir: string;
  readonly gatewayStateDir: string;
  readonly gatewayConfig: string;
  readonly launcher: GatewayLauncher;
  /** Passed to runSetup (tests shorten the wait for online). */
  readonly setupOptions?: Partial<Pick<SetupOptions, 'onlineTimeoutMs' | 'pairTimeoutMs'>>;
  /** status.json poll for the SSE feed. @default 500 */
  readonly pollMs?: number;
}

export type WizardServerState = 'created' | 'listening' | 'closed';

/**
 * The installer wizard over HTTPS: routes in wizard-routes.ts, state in WizardStateFeed. Setup
 * runs one at a time, here and across processes (installer-dir/setup.lock, which the unattended
 * setup and `pcg-installer setup` take too): POST /api/setup while one runs is 409
 * PCG_ERR_CONFLICT. The phase goes setup → pairing → configured, or back to setup when it fails.
 */
export class WizardServer {
  #state: WizardServerState = 'created';
  #running: Promise<CheckReport> | undefined;
  #url: string | undefined;

  private constructor(private readonly app: FastifyInstance, readonly feed: WizardStateFeed, private readonly options: WizardServerOptions) {}

  static async create(options: WizardServerOptions): Promise<WizardServer> {
    const feed = new WizardStateFeed(options.gatewayStateDir, options.tls.fingerprint, options.token.spent ? 'configured' : 'setup',
      installerDirProgress(options.installerDir), () => options.token.spend(), options.pollMs ?? 500);
    const app = Fastify({
      https: { key: options.tls.keyPem, cert: options.tls.certPem },
      // No request logging: the Authorization header carries the token and bodies carry the code.
      logger: false, bodyLimit: 262_144, forceCloseConnections: true,
    });
    const server = new WizardServer(app, feed, options);
    app.setErrorHandler((err: Error & { statusCode?: number }, _request, reply) => {
      const clientError = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500;
      const error = err instanceof PcgError ? err : clientError ? new PcgError('PCG_ERR_BAD_REQUEST', err.message) : new PcgError('PCG_ERR_INTERNAL');
      void sendError(reply.headers(SECURITY_HEADERS), error);
    });
    app.setNotFoundHandler((_request, reply) => sendError(reply.headers(SECURITY_HEADERS), new PcgError('PCG_ERR_NOT_FOUND', 'no such page or route on the installer wizard')));
    registerWizardRoutes(app, { feed, token: options.token, limiter: new FailureLimiter(), setup: (settings) => server.#setup(settings) });
    await app.ready();
    return server;
  }

  get state(): WizardServerState {
    return this.#state;
  }

  /** `https://host:port`, known once listening. */
  get url(): string {
    if (!this.#url) throw new Error('WizardServer.url before listen()');
    return this.#url;
  }

  async listen(): Promise<string> {
    if (this.#state !== 'created') throw new Error(`WizardServer.listen() in state ${this.#state}`);
    await this.app.listen({ host: this.options.host, port: this.options.port });
    this.#state = 'listening';
    const address = this.app.server.address() as AddressInfo;
    this.#url = `https://${isIP(address.address) === 6 ? `[${address.address}]` : address.address}:${address.port}`;
    return this.#url;
  }

  async #setup(settings: SetupSettings): Promise<CheckReport> {
    if (this.#running) throw new PcgError('PCG_ERR_CONFLICT', 'setup is already running; wait for its result');
    const holder = await setupLockHolder(this.options.installerDir);
    if (holder !== undefined) throw conflictElsewhere(`process ${holder}`);
    this.feed.setPhase('pairing');
    this.#running = runSetup(settings, {
      installerDir: this.options.installerDir, gatewayStateDir: this.options.gatewayStateDir, gatewayConfig: this.options.gatewayConfig,
      launcher: this.options.launcher, ...this.options.setupOptions,
    });
    try {
      const report = await this.#running;
      if (report.ok) this.options.token.spend();
      this.feed.setPhase(report.ok ? 'configured' : 'setup');
      // Lost the race for the lock to another process after the look above: the same answer as before it.
      if (!report.ok && report.error?.code === 'PCG_ERR_CONFLICT') throw conflictElsewhere('another process');
      return report;
    } catch (err) {
      this.feed.setPhase('setup');
      throw err;
    } finally {
      this.#running = undefined;
    }
  }

  /** Idempotent; waits for a running setup to finish, so the files it writes are never torn. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.feed.close();
    await this.#running?.catch(() => undefined);
    await this.app.close();
  }
}

function conflictElsewhere(who: string): PcgError {
  return new PcgError('PCG_ERR_CONFLICT', `setup is running in ${who} (the unattended setup from the vApp properties, or pcg-installer setup); this page shows its result when it ends`);
}
