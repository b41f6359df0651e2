import type { JobReport, JobReportStore, ReportApplied, SessionReport } from '../store/job-report-store.js';

export interface JobReportBatcherOptions {
  /** Reports stored in one transaction at most. @default 200 */
  readonly maxBatch?: number;
}

interface Waiting {
  readonly report: SessionReport;
  resolve(applied: ReportApplied): void;
  reject(err: unknown): void;
}

/**
 * Reports that arrive together are stored together: one transaction and a fixed number of
 * statements per batch (JobReportStore.applyReports) instead of a dozen round trips per report. One
 * batch is stored at a time; whatever arrives meanwhile forms the next, so batches grow with the
 * load on their own and, at rest, a report waits one turn of the event loop.
 *
 * Each caller still gets its own answer: its ReportApplied, or its own error (a superseded epoch,
 * a job not of its gateway) while the rest of its batch is stored. A batch that fails as a whole
 * (a deadlock with another relay, a statement one report broke) is retried report by report, so
 * one report's failure is never another's.
 */
export class JobReportBatcher {
  readonly #maxBatch: number;
  #queue: Waiting[] = [];
  #scheduled = false;
  #storing = false;

  constructor(private readonly jobs: Pick<JobReportStore, 'applyReports'>, options: JobReportBatcherOptions = {}) {
    this.#maxBatch = options.maxBatch ?? 200;
  }

  /** Stores one report (with whichever arrive alongside); resolves once it is committed. */
  apply(gatewayId: string, epoch: number, report: JobReport): Promise<ReportApplied> {
    return new Promise<ReportApplied>((resolve, reject) => {
      this.#queue.push({ report: { gatewayId, epoch, report }, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#storing) return;
    this.#scheduled = true;
    // Not cancelled on close: it only runs callers' own pending reports, which settle either way.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#storing = true;
    try {
      while (this.#queue.length > 0) await this.#store(this.#queue.splice(0, this.#maxBatch));
    } finally {
      this.#storing = false;
    }
  }

  async #store(batch: readonly Waiting[]): Promise<void> {
    let outcomes;
    try {
      outcomes = await this.jobs.applyReports(batch.map((w) => w.report));
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      for (const waiting of batch) await this.#store([waiting]);
      return;
    }
    outcomes.forEach((outcome, i) => (outcome.error ? batch[i]!.reject(outcome.error) : batch[i]!.resolve(outcome.applied)));
  }
}
