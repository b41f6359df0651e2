import { PcgError } from '../../proto/errors.js';
import { SessionRenewedError } from './session-renewed-error.js';
import { VimFault } from './vim-fault.js';

/**
 * Why `err` is a passing vCenter outage rather than a failure of the work itself, or undefined.
 * Outages, anywhere in the `cause` chain:
 *
 * | error                                    | seen when                                                   |
 * |------------------------------------------|-------------------------------------------------------------|
 * | PCG_ERR_VCENTER_UNREACHABLE              | connection refused or reset, a task wait cut by a dropped connection |
 * | VimFault NotAuthenticated                | the session is gone and logging in again failed too         |
 * | SessionRenewedError                      | the session ended twice during one operation               |
 *
 * With `sessionLost` (the session was renewed while the work ran: vCenter restarted or the session
 * was ended under it) any error counts: the tasks, and on a simulator the objects, the work held
 * may have died with the old vCenter, so what it failed on says nothing about the work.
 */
export function vcenterOutage(err: unknown, sessionLost: boolean): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    if (e instanceof PcgError && e.code === 'PCG_ERR_VCENTER_UNREACHABLE') return `vCenter is unreachable (${brief(e)})`;
    if (e instanceof VimFault && e.is('NotAuthenticated')) return `the vCenter session was lost (${e.method}: NotAuthenticated)`;
    if (e instanceof SessionRenewedError) return `the vCenter session was lost twice during ${e.method}`;
  }
  if (sessionLost) return `the vCenter session was lost while the job ran (vCenter restarted?), then ${err instanceof Error ? brief(err) : String(err)}`;
  return undefined;
}

/** What happened, without the remedy a PcgError appends to its message (an event line says what comes next). */
function brief(err: Error): string {
  return (err instanceof PcgError && err.detail ? err.detail : err.message).slice(0, 300);
}
