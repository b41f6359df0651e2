import { PcgError } from '../../proto/errors.js';
import type { CheckError, CheckReport, CheckStep } from './check-report-schema.js';
import { withoutUserinfo } from './without-userinfo.js';

type Fact = string | number | boolean;

/**
 * Collects the steps of one check as they run, so a failure is reported with everything that
 * passed before it and the field to mark. Every check module builds its CheckReport with one.
 * Details and messages lose any URL userinfo on the way in (a proxy's credentials).
 */
export class CheckRecorder {
  readonly steps: CheckStep[] = [];
  readonly normalized: Record<string, string> = {};
  readonly facts: Record<string, Fact> = {};

  pass(step: string, detail: string): void {
    this.steps.push({ step, ok: true, detail: withoutUserinfo(detail) });
  }

  /** Runs one step: its detail on success; a PcgError fails the step with the field named. */
  async step<T>(step: string, field: string | undefined, work: () => Promise<T> | T, detail: (value: T) => string): Promise<T> {
    try {
      const value = await work();
      this.pass(step, detail(value));
      return value;
    } catch (err) {
      throw new CheckFailure(step, field, err);
    }
  }

  ok(): CheckReport {
    return { ok: true, steps: this.steps, ...this.#extras() };
  }

  /**
   * The report of a failed check: the failed step last (unless the failure says it was recorded
   * already, as a merged sub-check's is), the error with its code and field.
   */
  failed(err: unknown): CheckReport {
    const failure = err instanceof CheckFailure ? err : new CheckFailure('internal', undefined, err);
    if (!failure.recorded) this.steps.push({ step: failure.step, ok: false, detail: withoutUserinfo(failure.error.detail ?? failure.error.message) });
    return { ok: false, steps: this.steps, error: failure.report(), ...this.#extras() };
  }

  /** Runs a whole check: the report of `work`, or the failed report of what it threw. */
  async run(work: (recorder: this) => Promise<void>): Promise<CheckReport> {
    try {
      await work(this);
      return this.ok();
    } catch (err) {
      return this.failed(err);
    }
  }

  #extras(): Pick<CheckReport, 'normalized' | 'facts'> {
    return {
      ...(Object.keys(this.normalized).length ? { normalized: this.normalized } : {}),
      ...(Object.keys(this.facts).length ? { facts: this.facts } : {}),
    };
  }
}

/**
 * A step that failed: the step's name, the form field to mark, and the error (a PcgError).
 * `recorded`: the failed step is in the report's steps already (merged from a sub-check's report),
 * so only the error is to be added.
 */
export class CheckFailure extends Error {
  readonly error: PcgError;
  readonly recorded: boolean;
  constructor(readonly step: string, readonly field: string | undefined, cause: unknown, options: { readonly recorded?: boolean } = {}) {
    const error = cause instanceof CheckFailure ? cause.error : PcgError.wrap(cause, 'PCG_ERR_INTERNAL');
    super(error.message, { cause });
    this.error = error;
    this.recorded = options.recorded ?? false;
    if (cause instanceof CheckFailure) {
      this.step = cause.step;
      this.field = cause.field ?? field;
    }
  }

  /** The report's `error`: code, message without URL userinfo, field. */
  report(): CheckError {
    return { code: this.error.code, message: withoutUserinfo(this.error.message), ...(this.field ? { field: this.field } : {}) };
  }
}

/** Fails a step with `code` and `detail`, naming `field`. */
export function failStep(step: string, field: string | undefined, code: PcgError['code'], detail: string): CheckFailure {
  return new CheckFailure(step, field, new PcgError(code, detail));
}
