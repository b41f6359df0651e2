import { PcgError } from '../../proto/errors.js';

/**
 * The vCenter session was renewed (logged in again) while a call held objects of the old one: a
 * container view, a private property collector, a paging token. vCenter ties those to the session
 * that created them, so the call is not replayed; whoever created them creates them again in the
 * new session (VimSession.renewable). It reaches a user only when a session ends twice during one
 * operation.
 */
export class SessionRenewedError extends PcgError {
  constructor(readonly method: string, cause?: unknown) {
    super('PCG_ERR_VCENTER_FAULT', `${method}: the vCenter session ended while it was in use and was renewed; its views, collectors and paging tokens died with it`, { cause });
    this.name = 'SessionRenewedError';
  }
}
