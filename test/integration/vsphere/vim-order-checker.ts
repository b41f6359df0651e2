import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const BINARY = new URL('../../../../.tmp/bin/vim-order', import.meta.url).pathname;

export interface RecordedRequest {
  readonly name: string;
  readonly body: string;
}

export interface OrderVerdict {
  readonly name: string;
  readonly errors: readonly string[];
}

/**
 * Runs the Go element-order checker (test/fixtures/vim-order, built by `make deps`) over request
 * bodies: it checks each against govmomi's vim25 types, the same WSDL a real vCenter enforces.
 */
export function checkElementOrder(requests: readonly RecordedRequest[]): { exitCode: number | null; verdicts: OrderVerdict[] } {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing; run make deps`);
  const run = spawnSync(BINARY, { input: JSON.stringify(requests), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw run.error;
  if (run.status === 2) throw new Error(`vim-order refused its input: ${run.stderr}`);
  return { exitCode: run.status, verdicts: JSON.parse(run.stdout) as OrderVerdict[] };
}
