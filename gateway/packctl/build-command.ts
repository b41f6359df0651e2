import { resolve } from 'node:path';
import { writeFileAtomic } from '../../proto/atomic-file.js';
import { buildPack } from '../../proto/packs/pack-builder.js';

/** `packctl build NAME DIR [-o FILE]`: zips and checks the folder; the pack must be NAME. */
export async function buildCommand(name: string, dir: string, options: { readonly output?: string }): Promise<void> {
  const { zip, archive } = await buildPack(dir, { expected: { name } });
  const file = resolve(options.output ?? `${name}-${archive.manifest.version}.zip`);
  await writeFileAtomic(file, zip, 0o644);
  process.stdout.write(`built ${name}:${archive.manifest.version} ${archive.digest} ${zip.length} bytes -> ${file}\n`);
}
