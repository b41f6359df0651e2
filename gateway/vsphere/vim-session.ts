import type { Agent } from 'undici';
import type { Secret } from '../../proto/secret.js';
import { SessionRenewedError } from './session-renewed-error.js';
import { parseServiceContent, type ServiceContent } from './service-content.js';
import { SessionScope } from './session-scope.js';
import { SoapClient } from './soap-client.js';
import { el, raw, text, type MoRef } from './soap-xml.js';
import { vcenterAgent, type VcenterTrust } from './tls-pinning.js';
import { vcenterSdkUrl } from './vcenter-address.js';
import { VimFault } from './vim-fault.js';

export interface VcenterConnection {
  /** As typed by the admin: host, host:port, https://host/, or …/sdk. */
  readonly host: string;
  readonly user: string;
  readonly password: Secret<string>;
  readonly trust: VcenterTrust;
  /** @default 60_000 */
  readonly timeoutMs?: number;
  /**
   * Told every SOAP request before it is sent: the method and the envelope (Login's password
   * reads `[redacted]`). For metrics and tests; never log the body, it carries user data.
   */
  readonly onRequest?: (method: string, body: string) => void;
}

const SERVICE_INSTANCE: MoRef = { type: 'ServiceInstance', value: 'ServiceInstance' };

export type SessionState = 'open' | 'closed';

/**
 * Methods whose arguments are objects of the session that issued them (paging tokens, private
 * collectors and their filters, views): after a re-login they are never replayed.
 */
const SESSION_BOUND_METHODS: ReadonlySet<string> = new Set([
  'ContinueRetrievePropertiesEx', 'CancelRetrievePropertiesEx', 'CreateFilter', 'WaitForUpdatesEx', 'CancelWaitForUpdates',
  'DestroyPropertyFilter', 'DestroyPropertyCollector', 'DestroyView',
]);

/**
 * A logged-in vim25 session. Login happens once per call to login(); on NotAuthenticated (expired
 * session) a call logs in again exactly once and retries once. Never a loop: a wrong password
 * repeated against a directory locks the account. Work that holds objects of the session (views,
 * private collectors, paging tokens) runs in renewable(): those are re-created, never replayed.
 */
export class VimSession {
  state: SessionState = 'open';
  /** Login requests sent, for tests that must see exactly one attempt. */
  logins = 0;
  #epoch = 0;
  #renewing: Promise<void> | undefined;
  #keepalive: NodeJS.Timeout | undefined;

  private constructor(
    readonly soap: SoapClient,
    private readonly agent: Agent,
    readonly content: ServiceContent,
    private readonly connection: VcenterConnection,
  ) {}

  static async login(connection: VcenterConnection): Promise<VimSession> {
    const agent = vcenterAgent(connection.trust);
    const soap = new SoapClient({ sdkUrl: vcenterSdkUrl(connection.host), agent, timeoutMs: connection.timeoutMs ?? 60_000, onRequest: connection.onRequest });
    try {
      await soap.negotiateVersion();
      const content = parseServiceContent(await soap.invoke('RetrieveServiceContent', el('_this', SERVICE_INSTANCE)));
      const session = new VimSession(soap, agent, content, connection);
      await session.#login();
      return session;
    } catch (err) {
      await agent.close();
      throw err;
    }
  }

  async #login(): Promise<void> {
    this.logins++;
    const c = this.connection;
    const args = (password: string): string => el('_this', this.content.sessionManager) + el('userName', c.user) + el('password', password);
    await this.soap.invoke('Login', args(c.password.reveal()), args('[redacted]'));
    this.#epoch++;
  }

  /** Successful logins so far: changes exactly when the session is renewed. */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * Logs in again, unless that already happened since `seenEpoch` (the epoch a failed request
   * was sent in): concurrent callers that all met the expired session share one Login.
   */
  async renew(seenEpoch: number): Promise<void> {
    if (this.#epoch !== seenEpoch) return;
    this.#renewing ??= (async () => {
      this.soap.clearSession();
      await this.#login();
    })().finally(() => {
      this.#renewing = undefined;
    });
    await this.#renewing;
  }

  /**
   * Calls a method; an expired session is renewed once, then the call is retried once, unless
   * its arguments died with the old session (SESSION_BOUND_METHODS): then SessionRenewedError.
   */
  async call(method: string, argsXml: string): Promise<Record<string, unknown>> {
    const epoch = this.#epoch;
    try {
      return await this.soap.invoke(method, argsXml);
    } catch (err) {
      if (!(err instanceof VimFault) || !err.is('NotAuthenticated') || method === 'Login') throw err;
      await this.renew(epoch);
      if (SESSION_BOUND_METHODS.has(method)) throw new SessionRenewedError(method, err);
      return this.soap.invoke(method, argsXml);
    }
  }

  /**
   * Runs `work`, which creates and uses objects of the session (container views, private property
   * collectors, paging tokens), in a scope of the current login. If the session is renewed while
   * it runs, those objects are gone: `work` starts again, once, in a scope of the new login.
   */
  renewable<T>(work: (scope: SessionScope) => Promise<T>): Promise<T> {
    return SessionScope.run({
      content: this.content,
      currentEpoch: () => this.#epoch,
      send: (method, argsXml) => this.soap.invoke(method, argsXml),
      renew: (seenEpoch) => this.renew(seenEpoch),
    }, work);
  }

  /** The user name of the live session, or undefined when vCenter no longer knows it. */
  async currentSession(): Promise<string | undefined> {
    const res = await this.call('RetrievePropertiesEx', el('_this', this.content.propertyCollector)
      + raw('specSet', raw('propSet', el('type', 'SessionManager') + el('all', false) + el('pathSet', 'currentSession'))
        + raw('objectSet', el('obj', this.content.sessionManager) + el('skip', false)))
      + raw('options', ''));
    const returnval = res.returnval as { objects?: { propSet?: { val?: { userName?: unknown } } } } | undefined;
    const user = returnval?.objects?.propSet?.val?.userName;
    return user === undefined ? undefined : text(user);
  }

  /**
   * Checks the session before reusing it (after idle time): when vCenter no longer knows it,
   * logs in once. Returns whether a new login was needed.
   */
  async ensureSession(): Promise<boolean> {
    const epoch = this.#epoch;
    // currentSession itself may meet NotAuthenticated and renew on the way: that counts too.
    if ((await this.currentSession()) === undefined) await this.renew(epoch);
    return this.#epoch !== epoch;
  }

  /**
   * Keeps the session from idling out (vCenter ends idle sessions after ~30 min): every
   * `intervalMs` it checks currentSession and logs in again if the session is gone.
   */
  startKeepalive(intervalMs: number, onError: (err: unknown) => void): void {
    clearInterval(this.#keepalive);
    let running = false;
    this.#keepalive = setInterval(() => {
      if (running || this.state !== 'open') return;
      running = true;
      this.ensureSession().catch(onError).finally(() => {
        running = false;
      });
    }, intervalMs).unref();
  }

  /** vCenter's clock, a cheap authenticated call. */
  async currentTime(): Promise<Date> {
    const res = await this.call('CurrentTime', el('_this', SERVICE_INSTANCE));
    return new Date(text(res.returnval));
  }

  /** Idempotent: logs out (best effort) and closes the connection pool. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearInterval(this.#keepalive);
    try {
      if (this.soap.hasSession) await this.soap.invoke('Logout', el('_this', this.content.sessionManager));
    } catch (err) {
      // A session vCenter already ended needs no logout.
      if (!(err instanceof VimFault && err.is('NotAuthenticated'))) throw err;
    } finally {
      await this.agent.close();
    }
  }
}
