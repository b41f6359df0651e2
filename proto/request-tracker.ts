import { PcgError, isErrorCode } from './errors.js';
import type { ErrorFrame } from './schemas/frames.js';

export interface CallOptions<P> {
  /** Deadline for the final reply, from the moment the request is sent. */
  readonly timeoutMs: number;
  /** The error a missed deadline rejects with (it names the peer and what was asked). */
  readonly onTimeout: () => PcgError;
  /** Told every non-final reply (streamed progress), in order, before the final one. */
  readonly onProgress?: (reply: P) => void;
  /** Aborting rejects the call at once (the peer's late replies are then ignored). */
  readonly signal?: AbortSignal;
}

interface Pending {
  readonly resolve: (reply: unknown) => void;
  readonly reject: (error: PcgError) => void;
  readonly onProgress: ((reply: unknown) => void) | undefined;
  readonly timer: NodeJS.Timeout;
  readonly detach: () => void;
}

/**
 * Every request/reply over one tunnel session goes through here: the id, the deadline, streamed
 * replies (any number of progress frames, then one final reply or an error), and cancellation of
 * everything still waiting when the session closes. Replies to ids it does not know (late,
 * after a deadline or a cancel) are ignored and reported as such.
 */
export class RequestTracker {
  #nextId = 0;
  /** Made on the first call: most sessions sit idle, and 10,000 empty maps are not free. */
  #pendingMap: Map<number, Pending> | undefined;
  #closedWith: PcgError | undefined;

  get #pending(): Map<number, Pending> {
    this.#pendingMap ??= new Map();
    return this.#pendingMap;
  }

  /** Requests waiting for their final reply. */
  get size(): number {
    return this.#pendingMap?.size ?? 0;
  }

  /**
   * Allocates an id, lets `send` put the request on the wire, and waits for the final reply.
   * A throwing `send` (tunnel closed) rejects the call with that error.
   */
  call<R, P = never>(send: (id: number) => void, options: CallOptions<P>): Promise<R> {
    if (this.#closedWith) return Promise.reject(this.#closedWith);
    if (options.signal?.aborted) return Promise.reject(cancelled(options.signal));
    const id = this.#nextId++;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => this.#settle(id)?.reject(options.onTimeout()), options.timeoutMs);
      const onAbort = (): void => this.#settle(id)?.reject(cancelled(options.signal!));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, {
        resolve: resolve as (reply: unknown) => void, reject, timer,
        onProgress: options.onProgress as ((reply: unknown) => void) | undefined,
        detach: () => options.signal?.removeEventListener('abort', onAbort),
      });
      try {
        send(id);
      } catch (err) {
        this.#settle(id)?.reject(PcgError.wrap(err, 'PCG_ERR_TUNNEL_CLOSED'));
      }
    });
  }

  /** A streamed, non-final reply. False when nobody waits for `id`. */
  progress(id: number, reply: unknown): boolean {
    const pending = this.#pendingMap?.get(id);
    pending?.onProgress?.(reply);
    return pending !== undefined;
  }

  /** The final reply. False when nobody waits for `id` (late or unknown). */
  resolve(id: number, reply: unknown): boolean {
    const pending = this.#settle(id);
    pending?.resolve(reply);
    return pending !== undefined;
  }

  /** Settles `id` with an error. False when nobody waits for it. */
  reject(id: number, error: PcgError): boolean {
    const pending = this.#settle(id);
    pending?.reject(error);
    return pending !== undefined;
  }

  /** An `error` frame that names a request id settles that request with the peer's code. */
  rejectWithFrame(frame: ErrorFrame & { id: number }): boolean {
    return this.reject(frame.id, PcgError.fromRemote(isErrorCode(frame.code) ? frame.code : 'PCG_ERR_INTERNAL', frame.message));
  }

  /** Rejects everything waiting, and every later call, with `error`: the session is gone. Idempotent. */
  close(error: PcgError): void {
    if (this.#closedWith) return;
    this.#closedWith = error;
    for (const id of [...(this.#pendingMap?.keys() ?? [])]) this.#settle(id)?.reject(error);
  }

  #settle(id: number): Pending | undefined {
    const pending = this.#pendingMap?.get(id);
    if (!pending) return undefined;
    this.#pendingMap!.delete(id);
    clearTimeout(pending.timer);
    pending.detach();
    return pending;
  }
}

function cancelled(signal: AbortSignal): PcgError {
  const reason: unknown = signal.reason;
  return reason instanceof PcgError ? reason : new PcgError('PCG_ERR_TUNNEL_CLOSED', 'the request was cancelled before its reply arrived');
}
