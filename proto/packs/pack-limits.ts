/**
 * Limits a pack archive is held to. Every one is checked on the central directory's declared
 * numbers first (before a byte is inflated) and again on the real bytes while streaming, since an
 * attacker writes whatever headers they like.
 */
export interface PackLimits {
  /**
   * Largest archive, compressed. Packs are manifests, values and Helm charts; OS images are VM
   * templates in vCenter, never inside a pack.
   * @default 134217728 (128 MiB)
   */
  maxArchiveBytes?: number;
  /**
   * Most entries (files and directories). A large chart folder (kube-prometheus-stack) has a
   * few hundred; a million empty entries is a cheap way to exhaust memory and inodes.
   * @default 10000
   */
  maxEntries?: number;
  /**
   * Most bytes all entries expand to, together.
   * @default 536870912 (512 MiB)
   */
  maxExpandedBytes?: number;
  /**
   * Highest expanded/compressed ratio of one entry. YAML deflates 5–20×, a chart .tgz ~1×; a
   * deflate bomb is ~1000×. Applied only to entries above `ratioFloorBytes`.
   * @default 200
   */
  maxCompressionRatio?: number;
  /**
   * Entries that expand to less than this are not held to the ratio: a small file of blanks may
   * compress 300× and still cost nothing.
   * @default 1048576 (1 MiB)
   */
  ratioFloorBytes?: number;
  /**
   * Largest text file parsed in memory (pack.json, values.yaml, presets.yaml, schema.yaml,
   * Chart.yaml, manifests/*.yaml).
   * @default 4194304 (4 MiB)
   */
  maxTextFileBytes?: number;
}

export const DEFAULT_PACK_LIMITS: Readonly<Required<PackLimits>> = Object.freeze({
  maxArchiveBytes: 128 * 1024 * 1024,
  maxEntries: 10_000,
  maxExpandedBytes: 512 * 1024 * 1024,
  maxCompressionRatio: 200,
  ratioFloorBytes: 1024 * 1024,
  maxTextFileBytes: 4 * 1024 * 1024,
});

/** The complete, frozen limits: defaults merged once, so the checks below never re-check. */
export function parsePackLimits(limits: PackLimits = {}): Readonly<Required<PackLimits>> {
  const merged = { ...DEFAULT_PACK_LIMITS };
  for (const [key, value] of Object.entries(limits) as [keyof PackLimits, number | undefined][]) {
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`pack limit ${key} must be a positive integer, got ${value}`);
    merged[key] = value;
  }
  return Object.freeze(merged);
}
