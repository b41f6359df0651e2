import { SessionRenewedError } from './session-renewed-error.js';
import { el, type MoRef } from './soap-xml.js';
import type { VimCaller } from './vim-caller.js';
import { VimFault } from './vim-fault.js';
import type { ServiceContent } from './service-content.js';

/** What a scope needs of its session (a narrow port, so a tiny fake can drive a scope in tests). */
export interface RenewableSession {
  readonly content: ServiceContent;
  /** Successful logins so far: it changes exactly when the session is renewed. */
  currentEpoch(): number;
  /** One SOAP request as is: no re-login, no replay. */
  send(method: string, argsXml: string): Promise<Record<string, unknown>>;
  /** Logs in again, unless that already happened since `seenEpoch` (concurrent callers share one login). */
  renew(seenEpoch: number): Promise<void>;
}

/**
 * Calls made on behalf of one login. Views, private property collectors and paging tokens are
 * objects of the vCenter session that created them; after a re-login a call naming one would be
 * answered by a session that never had it (ManagedObjectNotFound, InvalidArgument) or, worse,
 * replayed half-way through a read. So a scope never replays: once its login is gone, every call
 * fails with SessionRenewedError and the owner (VimSession.renewable) starts its work again.
 *
 * ```
 *   scope (epoch 1): CreateContainerView → RetrievePropertiesEx ✗ NotAuthenticated
 *                    └ Login (epoch 2), SessionRenewedError
 *   scope (epoch 2): CreateContainerView → RetrievePropertiesEx → … → DestroyView
 * ```
 */
export class SessionScope implements VimCaller {
  readonly epoch: number;

  constructor(private readonly session: RenewableSession) {
    this.epoch = session.currentEpoch();
  }

  /**
   * Runs `work` in a scope of the current login; if the session is renewed under it, once more
   * in a scope of the new login (never a loop: a second renewal reaches the caller).
   */
  static async run<T>(session: RenewableSession, work: (scope: SessionScope) => Promise<T>): Promise<T> {
    try {
      return await work(new SessionScope(session));
    } catch (err) {
      if (!(err instanceof SessionRenewedError)) throw err;
    }
    return work(new SessionScope(session));
  }

  get content(): ServiceContent {
    return this.session.content;
  }

  /** True once the session was renewed after this scope began: its objects are gone. */
  get stale(): boolean {
    return this.session.currentEpoch() !== this.epoch;
  }

  async call(method: string, argsXml: string): Promise<Record<string, unknown>> {
    if (this.stale) throw new SessionRenewedError(method);
    try {
      return await this.session.send(method, argsXml);
    } catch (err) {
      if (err instanceof VimFault && err.is('NotAuthenticated')) {
        await this.session.renew(this.epoch);
        throw new SessionRenewedError(method, err);
      }
      // Renewed by someone else (keepalive, a concurrent call) while this request was in flight:
      // whatever the fault, it speaks of objects the new session never had.
      if (this.stale) throw new SessionRenewedError(method, err);
      throw err;
    }
  }

  /**
   * A call on one of this scope's objects that only matters while its session lives (DestroyView,
   * DestroyPropertyCollector, CancelWaitForUpdates). Once the session has ended the object ended
   * with it: nothing is sent, and an expired session is no error here (nor renewed for this).
   */
  async callIfLive(method: string, obj: MoRef): Promise<void> {
    if (this.stale) return;
    try {
      await this.session.send(method, el('_this', obj));
    } catch (err) {
      if (!(err instanceof VimFault && err.is('NotAuthenticated'))) throw err;
    }
  }
}
