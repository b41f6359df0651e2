import { strict as assert } from 'node:assert';
import { RELAY_CLI, runCli } from './child.js';

/** Fixture packs for the four fixed slots, as profiles in the tests and the demo name them. */
export const PUBLIC_PACKS_DIR = new URL('../../../test/fixtures/packs/public/', import.meta.url).pathname;
export const BASE_PACKS = ['ubuntu', 'kubernetes', 'calico', 'vsphere-csi'].map((name) => `${PUBLIC_PACKS_DIR}${name}`);

export interface ImportedPack { name: string; version: string; digest: string }

/** `pcg-relay packs import` into a relay's data dir (before that relay starts: one process owns the registry). */
export async function importPublicPacks(dataDir: string, sources: readonly string[] = BASE_PACKS): Promise<ImportedPack[]> {
  const out = await runCli(RELAY_CLI, ['packs', 'import', ...sources, '--data-dir', dataDir]);
  assert.equal(out.code, 0, out.stderr);
  return out.stdout.trim().split('\n').map((line) => JSON.parse(line) as ImportedPack);
}
