/** What every benchmark prints: a table, one JSON line, and an exit code. */

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Prints a table (rows of [label, value]) and the one JSON line a bench emits. */
export function report(name: string, rows: Array<[string, string | number]>, json: Record<string, unknown>): void {
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`\n${name}\n${'-'.repeat(name.length)}\n`);
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
  process.stdout.write(`${JSON.stringify({ bench: name, ...json })}\n`);
}

/** Runs a benchmark's main, exits 0 when it completes and 1 with the stack when it fails. */
export function runBench(main: () => Promise<void>): void {
  main().then(() => process.exit(0), (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
