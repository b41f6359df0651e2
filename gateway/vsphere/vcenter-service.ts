import type { Logger } from 'pino';
import type { VcenterConfig } from '../config/gateway-config.js';
import type { InventoryItem, InventoryKind } from '../../proto/schemas/inventory.js';
import { readInventory } from './inventory.js';
import { normalizeThumbprint } from './tls-pinning.js';
import { vcenterOutage } from './vcenter-outage.js';
import { connectVcenter } from './vcenter-connect.js';
import type { VimSession } from './vim-session.js';

export interface VcenterInfo {
  readonly host: string;
  readonly thumbprint: string | null;
  readonly version: string;
  readonly datacenters: string[];
}

/** What the tunnel asks of vCenter: a narrow port, so the session is testable without one. */
export interface VcenterPort {
  info(): Promise<VcenterInfo>;
  inventory(kind: InventoryKind, datacenter: string | undefined): Promise<InventoryItem[]>;
  close(): Promise<void>;
}

/**
 * The gateway's one vCenter connection: logged in on first use, checked (currentSession) before
 * each reuse, closed with the gateway. Concurrent callers share one login in flight.
 *
 * After vCenter restarts, the next use finds the session unknown (NotAuthenticated, or no
 * currentSession) and logs in again on the same connection pool; while vCenter is down every
 * use fails with PCG_ERR_VCENTER_UNREACHABLE and the next one tries again. watch() tells the job
 * runner which failures were such an outage (vcenter-outage.ts).
 */
export class VcenterService implements VcenterPort {
  #session: Promise<VimSession> | undefined;
  /** The session last opened, for its login count. */
  #current: VimSession | undefined;
  /** Re-logins of sessions replaced since. */
  #earlierRenewals = 0;
  /** Re-logins made by the check before handing the session out: none of them cut work short. */
  #checkoutRenewals = 0;

  /** @param keepaliveMs how often an idle session is checked and renewed (default 5 min). */
  constructor(private readonly config: VcenterConfig, private readonly log: Logger, private readonly keepaliveMs = 300_000) {}

  async #use(): Promise<VimSession> {
    if (this.#session) {
      const session = await this.#session.catch(() => undefined);
      if (session && session.state === 'open') {
        if (await session.ensureSession()) {
          this.#checkoutRenewals++;
          this.log.info({ vcenter: this.config.host }, 'vCenter no longer knew the session (restarted, or ended it); logged in again');
        }
        return session;
      }
    }
    this.#session = connectVcenter(this.config);
    this.#session.catch(() => {
      this.#session = undefined;
    });
    const session = await this.#session;
    if (this.#current) this.#earlierRenewals += this.#current.epoch - 1;
    this.#current = session;
    session.startKeepalive(this.keepaliveMs, (err) => this.log.warn({ detail: err instanceof Error ? err.message : String(err) }, 'vCenter keepalive failed'));
    this.log.info({ vcenter: this.config.host, version: session.content.about.version }, 'vCenter session opened');
    return session;
  }

  /**
   * The shared session, checked and logged in as for every other use: for callers that drive
   * vSphere themselves (the cluster executor). Never close it; the service owns it.
   */
  session(): Promise<VimSession> {
    return this.#use();
  }

  /**
   * Times a session was lost while in use and logged in again (vCenter restarted, or ended the
   * session): the re-logins of the check before each use are left out, nothing was cut short there.
   */
  get sessionRenewals(): number {
    return this.#earlierRenewals + Math.max(0, (this.#current?.epoch ?? 1) - 1) - this.#checkoutRenewals;
  }

  /**
   * For the job runner (an OutageDetector): called as a job's execution starts; the check says
   * whether that execution's error was a vCenter outage, counting a session lost meanwhile as one.
   */
  watch(): (err: unknown) => string | undefined {
    const renewals = this.sessionRenewals;
    return (err) => vcenterOutage(err, this.sessionRenewals !== renewals);
  }

  async info(): Promise<VcenterInfo> {
    const session = await this.#use();
    const inventory = await readInventory(session);
    return {
      host: this.config.host,
      thumbprint: this.config.thumbprint ? normalizeThumbprint(this.config.thumbprint) : null,
      version: session.content.about.version,
      datacenters: inventory.items.filter((i) => i.kind === 'datacenter').map((i) => i.name),
    };
  }

  async inventory(kind: InventoryKind, datacenter: string | undefined): Promise<InventoryItem[]> {
    const { items } = await readInventory(await this.#use());
    return items.filter((i): i is InventoryItem => i.kind === kind && (datacenter === undefined || i.datacenter === datacenter));
  }

  async close(): Promise<void> {
    const session = await this.#session?.catch(() => undefined);
    this.#session = undefined;
    await session?.close();
  }
}
