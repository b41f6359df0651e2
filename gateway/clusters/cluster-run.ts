import type { Logger } from 'pino';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import type { ClusterSpec } from '../../proto/schemas/jobs.js';
import type { CallJournal, ClusterKeys, JobContext, NodeReadiness } from '../jobs/job-executor.js';
import type { VimSession } from '../vsphere/vim-session.js';
import type { VmOperations } from '../vsphere/vm-operations.js';

/** The parts of a JobContext a run uses; missingNodes runs without a job, with no-op parts. */
export type RunContext = Pick<JobContext, 'event' | 'checkpoint'> & { readonly calls: CallJournal; readonly readiness: NodeReadiness; readonly jobId: string };

/** One execution's view of the world, handed to each step. */
export interface ClusterRun {
  readonly context: RunContext;
  readonly cluster: ClusterSpec;
  readonly session: VimSession;
  readonly ops: VmOperations;
  /** The job's signal, also aborted when a sibling step failed (so nothing keeps going on its own). */
  readonly signal: AbortSignal;
  /** Aborted by the caller only (cancel, gateway stop): tells a cancel from a sibling's failure. */
  readonly jobSignal: AbortSignal;
  readonly clock: Clock;
  readonly log: Logger;
  readonly readyTimeoutMs: number;
  readonly taskTimeoutMs: number;
  readonly ipPollMs: number;
  readonly cloneConcurrency: number;
  /** Stops every sibling step of this run (the first failure wins; the run then reports it). */
  readonly abort: (reason: unknown) => void;
  /** The gateway's per-cluster secrets: pack read token, the cluster's CA. */
  readonly clusterKeys: ClusterKeys;
}

/** Between steps: a cancelled job stops before its next vSphere call. */
export function throwIfCancelled(run: Pick<ClusterRun, 'signal' | 'jobSignal'>): void {
  if (run.jobSignal.aborted) throw new PcgError('PCG_ERR_JOB_CANCELLED', 'the job was cancelled', { cause: run.jobSignal.reason });
  if (run.signal.aborted) throw run.signal.reason instanceof Error ? run.signal.reason : new PcgError('PCG_ERR_JOB_CANCELLED', 'stopped after a failed step');
}

/**
 * Runs every step to its end; the first failure aborts the siblings (they stop at their next
 * check or task wait) and is thrown once all have settled, so no step outlives the run.
 */
export async function allOrAbort<T>(run: Pick<ClusterRun, 'abort'>, steps: ReadonlyArray<Promise<T>>): Promise<T[]> {
  let first: { error: unknown } | undefined;
  const settled = await Promise.all(steps.map((step) => step.catch((error: unknown) => {
    if (!first) {
      first = { error };
      run.abort(error);
    }
    return undefined;
  })));
  if (first) throw first.error;
  return settled as T[];
}
