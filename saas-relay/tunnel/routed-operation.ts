import type { TunnelSession } from './tunnel-session.js';

export interface RunOptions<P> {
  /** Time left for the whole operation. */
  readonly timeoutMs: number;
  /** Streamed progress, in order, before the result. */
  readonly onProgress?: ((progress: P) => void) | undefined;
}

/**
 * Work for a gateway that any relay may be asked for (gateway-calls.ts routes it to the relay
 * holding the tunnel). Arguments, progress and result cross relays as JSON, so they must be
 * plain data. `name` is stored with the request: keep it stable across versions.
 */
export interface RoutedOperation<A, R, P = never> {
  readonly name: string;
  run(session: TunnelSession, args: A, options: RunOptions<P>): Promise<R>;
}

/** Any operation, as the registry holds them (arguments arrive as parsed JSON). */
export type AnyRoutedOperation = RoutedOperation<unknown, unknown, unknown>;
