import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { PcgError } from '../../proto/errors.js';
import { MAX_FRAME_BYTES } from '../../proto/limits.js';
import { packIndexDigest } from '../../proto/registry/pack-index-digest.js';
import { MAX_PACKS_PER_FRAME, MAX_REPORT_PARTS, type PackIndexItem, type PackIndexRemoval, type RegistryIndexAckFrame, type RegistryIndexFrame } from '../../proto/schemas/frames.js';
import type { ReportSession } from '../jobs/job-reporter.js';
import type { PackSyncSource } from './pack-sync-source.js';

export interface PackSyncReporterOptions {
  /** How often the pack index is checked for changes while a session is open. @default 2000 */
  readonly pollMs?: number;
  /** How long the relay may take to acknowledge a report. @default 30_000 */
  readonly ackTimeoutMs?: number;
}

export interface PackSyncReporterPorts {
  /** Opens the index for reading; undefined when the gateway has no registry. */
  openSource(): PackSyncSource | undefined;
  readonly log: Logger;
}

type Snapshot = ReadonlyMap<string, PackIndexItem>;

/**
 * JSON bytes of packs in one frame: half of MAX_FRAME_BYTES leaves room for the frame's other
 * fields and sealing, and for a relay that counts differently.
 */
const PART_BYTES = MAX_FRAME_BYTES / 2;

const keyOf = (p: { name: string; version: string }): string => `${p.name}\u0000${p.version}`;

/**
 * Mirrors the embedded registry's pack index on the relay (`registry.index`). It polls the index
 * (cheap: SQLite's data_version) rather than hooking PackRegistry, so the registry code stays
 * unaware of the tunnel. Each session starts with a full report; after that only what differs by
 * digest from the last acknowledged snapshot moves, as a delta on top of its generation. A delta
 * the relay cannot apply (it lost or never had the base) is answered `resync`, and a full report
 * follows. A full report larger than one frame goes in parts, one at a time, each acked; a delta
 * larger than one frame is sent as a full report instead. A report that failed (timeout, session gone) leaves the acknowledged state as it was:
 * the next poll sends the difference again, and a relay that did apply it asks for a resync.
 *
 * The index connection and the timer live while a session is open and close with it.
 */
export class PackSyncReporter {
  #session: ReportSession | undefined;
  #source: PackSyncSource | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number | undefined> | undefined;
  #acked: { generation: number; snapshot: Snapshot } | undefined;
  #seenVersion: number | undefined;
  #needFull = true;
  #dirty = true;
  readonly #pollMs: number;
  readonly #ackTimeoutMs: number;

  constructor(options: PackSyncReporterOptions, private readonly ports: PackSyncReporterPorts) {
    this.#pollMs = options.pollMs ?? 2000;
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
  }

  opened(session: ReportSession): void {
    this.#session = session;
    this.#source ??= this.ports.openSource();
    if (!this.#source) return;
    // The relay may have lost or never seen anything: every session starts from a full report.
    this.#needFull = true;
    this.#dirty = true;
    this.#timer ??= setInterval(() => this.#poll(), this.#pollMs);
    this.#poll();
  }

  closed(session: ReportSession): void {
    if (this.#session !== session) return;
    this.#session = undefined;
    clearInterval(this.#timer);
    this.#timer = undefined;
    const source = this.#source;
    this.#source = undefined;
    // A report under way fails with the session; the connection closes after it.
    void (this.#running ?? Promise.resolve()).catch(() => undefined).finally(() => source?.close());
  }

  /** "Sync now": a full report; resolves with the generation the relay acknowledged. */
  async resync(): Promise<number> {
    await this.#running?.catch(() => undefined);
    this.#needFull = true;
    this.#dirty = true;
    const generation = await this.sync();
    if (generation === undefined) throw new PcgError('PCG_ERR_NOT_FOUND', 'this gateway hosts no pack registry');
    return generation;
  }

  /** One report if anything is due; a report under way is joined. Resolves with the acked generation. */
  sync(): Promise<number | undefined> {
    this.#running ??= this.#report().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  #poll(): void {
    const source = this.#source;
    if (!source || !this.#session?.isOpen) return;
    const version = source.version();
    if (version !== this.#seenVersion) this.#dirty = true;
    this.#seenVersion = version;
    if (!this.#dirty || this.#running) return;
    this.sync().catch((err: unknown) => {
      const error = PcgError.wrap(err, 'PCG_ERR_INTERNAL');
      this.ports.log.warn({ code: error.code, detail: error.message }, 'pack index report failed; trying again at the next poll');
    });
  }

  async #report(): Promise<number | undefined> {
    const session = this.#session;
    const source = this.#source;
    if (!session?.isOpen || !source) return this.#acked?.generation;
    this.#dirty = false;
    const current: Snapshot = new Map(source.entries().map((p) => [keyOf(p), p]));
    const indexDigest = packIndexDigest(current.values());
    try {
      for (;;) {
        const acked = this.#acked;
        if (this.#needFull || !acked) {
          const generation = (acked?.generation ?? 0) + 1;
          const ack = await this.#sendFull(session, generation, [...current.values()], indexDigest);
          if (ack.resync) throw new PcgError('PCG_ERR_INTERNAL', `the relay's copy of the pack index did not verify after full report ${generation}`);
          this.#needFull = false;
          this.#acked = { generation, snapshot: current };
          this.ports.log.info({ generation, packs: current.size }, 'pack index reported to the relay');
          return generation;
        }
        const { upserts, removals } = difference(acked.snapshot, current);
        if (upserts.length === 0 && removals.length === 0) return acked.generation;
        if (splitPacks([...upserts, ...removals]).length > 1) {
          this.#needFull = true;
          continue;
        }
        const generation = acked.generation + 1;
        const ack = await this.#send(session, { type: 'registry.index', id: 0, mode: 'delta', base_generation: acked.generation, generation, upserts, removals, index_digest: indexDigest });
        if (ack.resync) {
          this.ports.log.info({ stored: ack.generation, base: acked.generation }, 'the relay holds another pack index generation; sending a full report');
          this.#needFull = true;
          continue;
        }
        this.#acked = { generation, snapshot: current };
        this.ports.log.info({ generation, upserts: upserts.length, removals: removals.length }, 'pack index changes reported to the relay');
        return generation;
      }
    } catch (err) {
      this.#dirty = true;
      throw err;
    }
  }

  /** One frame when the index fits, else parts of one report; resolves with the last part's ack. */
  async #sendFull(session: ReportSession, generation: number, packs: PackIndexItem[], indexDigest: string): Promise<RegistryIndexAckFrame> {
    const parts = splitPacks(packs);
    if (parts.length === 1) return this.#send(session, { type: 'registry.index', id: 0, mode: 'full', generation, packs, index_digest: indexDigest });
    if (parts.length > MAX_REPORT_PARTS) throw new PcgError('PCG_ERR_INTERNAL', `the pack index needs ${parts.length} frames, more than the ${MAX_REPORT_PARTS} a report may have`);
    const id = randomBytes(8).toString('hex');
    for (let i = 0; ; i++) {
      const ack = await this.#send(session, { type: 'registry.index', id: 0, mode: 'full', generation, report: { id, part: i + 1, parts: parts.length }, packs: parts[i]!, index_digest: indexDigest });
      if (i === parts.length - 1) return ack;
      if (ack.resync) throw new PcgError('PCG_ERR_INTERNAL', `the relay dropped part ${i + 1} of ${parts.length} of pack index report ${id}`);
    }
  }

  #send(session: ReportSession, frame: RegistryIndexFrame): Promise<RegistryIndexAckFrame> {
    const timeoutMs = this.#ackTimeoutMs;
    return session.requests.call<RegistryIndexAckFrame>((id) => session.send({ ...frame, id }), {
      timeoutMs, onTimeout: () => new PcgError('PCG_ERR_GATEWAY_TIMEOUT', `the relay did not acknowledge the pack index report within ${timeoutMs} ms`),
    });
  }
}

/** What moved between two snapshots: versions added or with another digest or metadata, versions gone. */
function difference(before: Snapshot, after: Snapshot): { upserts: PackIndexItem[]; removals: PackIndexRemoval[] } {
  const upserts: PackIndexItem[] = [];
  const removals: PackIndexRemoval[] = [];
  for (const [key, item] of after) {
    const old = before.get(key);
    if (!old || old.digest !== item.digest || old.layer !== item.layer || old.cloud_types.join(',') !== item.cloud_types.join(',')) upserts.push(item);
  }
  for (const [key, item] of before) if (!after.has(key)) removals.push({ name: item.name, version: item.version });
  return { upserts, removals };
}

/** Cuts a list into frame-sized runs: at most MAX_PACKS_PER_FRAME items and PART_BYTES of JSON each; never empty. */
function splitPacks<T>(items: readonly T[]): T[][] {
  const parts: T[][] = [[]];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item)) + 1;
    const last = parts[parts.length - 1]!;
    if (last.length > 0 && (last.length >= MAX_PACKS_PER_FRAME || bytes + size > PART_BYTES)) {
      parts.push([item]);
      bytes = size;
    } else {
      last.push(item);
      bytes += size;
    }
  }
  return parts;
}
