import { PcgError } from '../../proto/errors.js';
import type { CheckReport, CheckStep } from '../wizard/wizard-api.js';

type Fact = string | number | boolean;

/**
 * Collects the steps of one check as they run, so a failure is reported with everything that
 * passed before it and the field to mark. Every check module builds its CheckReport with one.
 */
export class CheckRecorder {
  readonly steps: CheckStep[] = [];
  readonly normalized: Record<string, string> = {};
  readonly facts: Record<string, Fact> = {};

  pass(step: string, detail: string): void {
    this.steps.push({ step, ok: true, detail });
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

  /** The report of a failed check: the failed step last, the error with its code and field. */
  failed(err: unknown): CheckReport {
    const failure = err instanceof CheckFailure ? err : new CheckFailure('internal', undefined, err);
    this.steps.push({ step: failure.step, ok: false, detail: failure.error.detail ?? failure.error.message });
    return {
      ok: false, steps: this.steps,
      error: { code: failure.error.code, message: failure.error.message, ...(failure.field ? { field: failure.field } : {}) },
      ...this.#extras(),
    };
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

/** A step that failed: the step's name, the form field to mark, and the error (a PcgError). */
export class CheckFailure extends Error {
  readonly error: PcgError;
  constructor(readonly step: string, readonly field: string | undefined, cause: unknown) {
    const error = cause instanceof CheckFailure ? cause.error : PcgError.wrap(cause, 'PCG_ERR_INTERNAL');
    super(error.message, { cause });
    this.error = error;
    if (cause instanceof CheckFailure) {
      this.step = cause.step;
      this.field = cause.field ?? field;
    }
  }
}

/** Fails a step with `code` and `detail`, naming `field`. */
export function failStep(step: string, field: string | undefined, code: PcgError['code'], detail: string): CheckFailure {
  return new CheckFailure(step, field, new PcgError(code, detail));
}
