import type { PackIndexItem, RegistryIndexFrame } from '../../proto/schemas/frames.js';

type FullFrame = Extract<RegistryIndexFrame, { mode: 'full' }>;

/** What one `registry.index` frame amounts to once its report's other parts are taken into account. */
export type ReportPartOutcome =
  /** A whole report (a single frame, a delta, or the last part with every part before it): apply it. */
  | { readonly kind: 'whole'; readonly frame: RegistryIndexFrame }
  /** A part before the last, kept aside: nothing to apply yet. */
  | { readonly kind: 'kept'; readonly part: number; readonly parts: number }
  /** A part that does not follow the one kept: everything kept is dropped, a full report is needed. */
  | { readonly kind: 'dropped'; readonly reason: string };

interface Staged {
  readonly id: string;
  readonly parts: number;
  readonly generation: number;
  readonly digest: string;
  next: number;
  readonly packs: PackIndexItem[];
}

/**
 * Puts a full pack index report sent in parts back together, per tunnel session. Parts are kept
 * in memory only, keyed by the session object (a WeakMap: a session that closes mid-report takes
 * its parts with it, and a relay that restarts has none), so nothing of a report reaches the store
 * before its last part arrived after all the others, in order. The gateway sends one part at a
 * time and waits for its ack, so "in order" is the only order a correct gateway produces; a gap,
 * another report id or another generation or digest half-way is a lost part and drops the report.
 */
export class PackReportParts {
  readonly #staged = new WeakMap<object, Staged>();

  take(session: object, frame: RegistryIndexFrame): ReportPartOutcome {
    if (frame.mode === 'delta' || frame.report === undefined) {
      // A report of its own supersedes whatever was half-sent before it.
      this.#staged.delete(session);
      return { kind: 'whole', frame };
    }
    const { id, part, parts } = frame.report;
    const staged = part === 1 ? this.#start(session, frame) : this.#staged.get(session);
    const broken = staged === undefined ? `part ${part} of report ${id} arrived without the parts before it`
      : staged.id !== id ? `part ${part} of report ${id} arrived while report ${staged.id} was at part ${staged.next}`
        : staged.next !== part ? `part ${part} of report ${id} arrived where part ${staged.next} was due`
          : staged.parts !== parts || staged.generation !== frame.generation || staged.digest !== frame.index_digest
            ? `part ${part} of report ${id} changed its part count, generation or digest` : undefined;
    if (broken !== undefined || staged === undefined) {
      this.#staged.delete(session);
      return { kind: 'dropped', reason: broken ?? 'unreachable' };
    }
    for (const pack of frame.packs) staged.packs.push(pack);
    if (part < parts) {
      staged.next = part + 1;
      return { kind: 'kept', part, parts };
    }
    this.#staged.delete(session);
    const whole: FullFrame = { type: 'registry.index', id: frame.id, mode: 'full', generation: frame.generation, packs: staged.packs, index_digest: frame.index_digest };
    return { kind: 'whole', frame: whole };
  }

  #start(session: object, frame: FullFrame): Staged {
    const staged: Staged = { id: frame.report!.id, parts: frame.report!.parts, generation: frame.generation, digest: frame.index_digest, next: 1, packs: [] };
    this.#staged.set(session, staged);
    return staged;
  }
}
