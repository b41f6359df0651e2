import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { systemClock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { readPackArchive } from '../../proto/packs/pack-archive.js';
import { buildPack } from '../../proto/packs/pack-builder.js';
import { formatPackIssue, PackError } from '../../proto/packs/pack-error.js';
import type { PackUploadSource } from '../../proto/registry/pack-registry.js';
import { PUBLIC_REGISTRY_DIR, PublicPackStore } from '../registry/public-pack-store.js';

export interface PacksImportFlags {
  readonly dataDir?: string;
  readonly registryDir?: string;
  readonly force?: boolean;
  readonly message?: string;
}

/**
 * `pcg-relay packs import DIR|ZIP…`: seeds the public registry without a running relay. Every
 * source is checked first (folders zipped as `packctl build` does, zips read with the upload's
 * checks), so one bad pack imports nothing; then each is stored in order and printed as one JSON
 * line `{name, version, digest}` (digest: the zip's, as `/v1/packs` lists it).
 */
export async function packsImportCommand(sources: readonly string[], flags: PacksImportFlags): Promise<void> {
  const dir = flags.registryDir ?? (flags.dataDir ? join(flags.dataDir, PUBLIC_REGISTRY_DIR) : undefined);
  if (!dir) throw new PcgError('PCG_ERR_CONFIG_INVALID', '--data-dir (or --registry-dir) is required');
  const checked: PackUploadSource[] = [];
  for (const source of sources) checked.push(await checkSource(source));
  const content = await PublicPackStore.open(dir, { clock: systemClock });
  try {
    for (const [index, source] of checked.entries()) {
      const { pack } = await content.packs.upload(source, { force: flags.force ?? false, message: flags.message ?? null })
        .catch((err: unknown) => { throw withSource(err, sources[index]!); });
      process.stdout.write(`${JSON.stringify({ name: pack.name, version: pack.version, digest: pack.archiveDigest })}\n`);
    }
  } finally {
    await content.close();
  }
}

/** A folder becomes its deterministic zip (kept in memory: a pack is at most the archive limit); a file is read as a zip. */
async function checkSource(source: string): Promise<PackUploadSource> {
  let isFolder: boolean;
  try {
    isFolder = (await stat(source)).isDirectory();
  } catch (err) {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', `${source}: no such pack folder or zip`, { cause: err });
  }
  try {
    if (isFolder) {
      const { zip } = await buildPack(source, { compress: false });
      return { stream: Readable.from([zip]) };
    }
    await readPackArchive({ path: source });
    return { path: source };
  } catch (err) {
    throw withSource(err, source);
  }
}

/** Names the source in the message, and lists every issue of a refused pack on its own line. */
function withSource(err: unknown, source: string): unknown {
  if (!(err instanceof PcgError)) return err;
  const issues = err instanceof PackError && err.issues.length > 1 ? `\n${err.issues.map((issue) => `  ${formatPackIssue(issue)}`).join('\n')}` : '';
  const named = PcgError.fromRemote(err.code, `${source}: ${err.message}${issues}`);
  return Object.assign(named, { cause: err });
}
