/**
 * When a job's execution is run again after a vCenter outage, and how long after: the runner asks
 * this between two executions. Only an outage is retried (vCenter unreachable, its session lost);
 * what the job itself got wrong (a fault, an unknown placement, a node that never reported) fails
 * at once. Executors are idempotent (names, UUIDs and the call journal make a second run find
 * what the first did), so a retry is the whole execution from the start.
 */

export interface JobRetryOptions {
  /** Executions after the first when each failed with an outage; 0 never retries. @default 5 */
  readonly retryLimit: number;
  /** Delay before the first retry; it doubles with each retry, up to `retryMaxMs`. @default 5_000 */
  readonly retryInitialMs: number;
  /** Longest delay between two executions. @default 60_000 */
  readonly retryMaxMs: number;
}

export const DEFAULT_JOB_RETRY: JobRetryOptions = Object.freeze({ retryLimit: 5, retryInitialMs: 5_000, retryMaxMs: 60_000 });

/**
 * Tells a passing outage of what a job depends on (vCenter) from a failure of the job itself.
 * VcenterService is one (gateway/vsphere/vcenter-outage.ts says which errors count).
 */
export interface OutageDetector {
  /**
   * Called as an execution starts. The returned check is given that execution's error: it returns
   * why the error is an outage (a short sentence for the user), or undefined when it is not.
   */
  watch(): (err: unknown) => string | undefined;
}

/** No dependency that can have an outage (no vCenter configured): nothing is retried. */
export const NO_OUTAGES: OutageDetector = Object.freeze({ watch: () => (): undefined => undefined });

export type RetryDecision =
  | { readonly retry: true; readonly reason: string; readonly delayMs: number; /** 1-based. */ readonly retryNumber: number }
  | { readonly retry: false; /** Set when the error was an outage but the limit is reached. */ readonly reason?: string };

export class JobRetryPolicy {
  readonly options: JobRetryOptions;

  constructor(options: Partial<JobRetryOptions>, private readonly outages: OutageDetector) {
    const merged = { ...DEFAULT_JOB_RETRY, ...options };
    if (!Number.isInteger(merged.retryLimit) || merged.retryLimit < 0) throw new RangeError(`retryLimit must be a whole number, not ${merged.retryLimit}`);
    if (!(merged.retryInitialMs > 0) || !(merged.retryMaxMs >= merged.retryInitialMs)) {
      throw new RangeError(`retry delays must be positive with retryMaxMs >= retryInitialMs, not ${merged.retryInitialMs}/${merged.retryMaxMs}`);
    }
    this.options = Object.freeze(merged);
  }

  /** An execution starts; `decide` is handed what it throws. */
  watch(): (err: unknown, retriesSoFar: number) => RetryDecision {
    const outage = this.outages.watch();
    return (err, retriesSoFar) => {
      const reason = outage(err);
      if (reason === undefined) return { retry: false };
      if (retriesSoFar >= this.options.retryLimit) return { retry: false, reason };
      return { retry: true, reason, delayMs: this.delayBefore(retriesSoFar + 1), retryNumber: retriesSoFar + 1 };
    };
  }

  /** Exponential without jitter: a gateway runs a handful of jobs, not a crowd, and users read the delays. */
  delayBefore(retryNumber: number): number {
    return Math.min(this.options.retryMaxMs, this.options.retryInitialMs * 2 ** Math.min(retryNumber - 1, 30));
  }
}
