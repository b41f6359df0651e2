/** Pack archives for the pack registry tests: a minimal valid pack of any name, version, layer and cloud types. */
import { zipOf } from '../fixtures/packs/pack-test-kit.js';

export interface TestPack {
  readonly name: string;
  readonly version: string;
  readonly layer?: string;
  readonly cloudTypes?: readonly string[];
  /** Extra values.yaml text, to make two archives of one version differ. */
  readonly values?: string;
}

/** A valid pack zip (pack.json + values.yaml). */
export function testPackZip(pack: TestPack): Promise<Buffer> {
  const manifest = { name: pack.name, displayName: pack.name, version: pack.version, layer: pack.layer ?? 'addon', cloudTypes: pack.cloudTypes ?? ['all'] };
  return zipOf({ 'pack.json': JSON.stringify(manifest), 'values.yaml': pack.values ?? 'replicas: 1\n' });
}
