/**
 * Deadlines of an HTTP connection once its TLS handshake is done (the ConnectionGate bounds the
 * time before). Node enforces the first two itself; fastify sets its own defaults to "never",
 * which let a client that completes TLS and sends nothing keep its connection for good.
 */
export interface HttpTimeoutOptions {
  /**
   * From the end of the TLS handshake (or the start of the next request on a kept-alive
   * connection) until the request's headers are complete, websocket upgrades included: a client
   * that sends nothing, or drips its headers, is closed (with 408 when the socket still writes).
   * @default 10_000
   */
  readonly headersTimeoutMs: number;
  /**
   * Until the whole request (headers and body) has arrived; the response may take longer (an
   * inventory call waits up to its own timeout). Not below headersTimeoutMs. @default 30_000
   */
  readonly requestTimeoutMs: number;
  /** An idle kept-alive connection between two requests is closed after this. @default 30_000 */
  readonly keepAliveTimeoutMs: number;
}

export const DEFAULT_HTTP_TIMEOUTS: HttpTimeoutOptions = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 30_000,
});

/**
 * Node checks the header and request deadlines of all connections on an interval (30 s by
 * default, so a 10 s deadline could take 40 s); once a second keeps them within a second.
 */
const CHECK_INTERVAL_MS = 1000;

/** The options of node's `https.createServer` that carry these deadlines. */
export function nodeServerTimeouts(timeouts: HttpTimeoutOptions): { headersTimeout: number; requestTimeout: number; keepAliveTimeout: number; connectionsCheckingInterval: number } {
  return {
    headersTimeout: timeouts.headersTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    keepAliveTimeout: timeouts.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(CHECK_INTERVAL_MS, Math.max(100, Math.floor(timeouts.headersTimeoutMs / 4))),
  };
}
