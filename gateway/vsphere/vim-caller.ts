import type { ServiceContent } from './service-content.js';

/**
 * The narrow port the SOAP helpers (property collector, finder, inventory) need: the service
 * content and one call. A VimSession is one (a call that meets an expired session logs in again
 * and is replayed), and so is a SessionScope (a call is never replayed after a re-login, because
 * its arguments name objects that died with the old session).
 */
export interface VimCaller {
  readonly content: ServiceContent;
  call(method: string, argsXml: string): Promise<Record<string, unknown>>;
}
