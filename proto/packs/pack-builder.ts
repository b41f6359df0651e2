/**
 * Zips a pack folder (what `packctl build NAME DIR` calls). The output is a function of the
 * folder's file names and bytes only: entries sorted by path, one fixed timestamp, one fixed
 * mode, no extended-timestamp field, no host-dependent attributes, so the same folder gives the
 * same digest and the registry deduplicates rebuilt packs.
 *
 * The folder is checked while walking (symlinks, special files, names, count, sizes), and the
 * zip that comes out is then read back with readPackArchive: the same checks as an upload, by the
 * same code, so packctl can never build what a registry refuses.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import yazl from 'yazl';
import { checkEntryPath } from './pack-entry-path.js';
import { packError } from './pack-error.js';
import { readPackArchive, type PackArchive } from './pack-archive.js';
import type { ExpectedPack } from './pack-content.js';
import { parsePackLimits, type PackLimits } from './pack-limits.js';

export interface PackBuildOptions {
  /** Limits, as for readPackArchive. */
  readonly limits?: PackLimits;
  /** Name (and version) the pack must declare, e.g. packctl's NAME argument. */
  readonly expected?: ExpectedPack;
  /**
   * Deflate files that are not already compressed (.tgz, .gz, .png, .zip are always stored).
   * Deflate output is stable for one Node build but zlib builds may differ across Node versions
   * and CPUs; `false` stores everything, for byte-identical archives on any machine.
   * @default true
   */
  readonly compress?: boolean;
}

export interface BuiltPack {
  /** The archive bytes. */
  readonly zip: Buffer;
  /** What readPackArchive found in them: manifest, entries, digest. */
  readonly archive: PackArchive;
}

/**
 * 1980-01-01 00:00 in *local* time, made at each build: a DOS timestamp has no zone and yazl
 * writes the local fields, so a Date made once would encode differently after a TZ change.
 */
const fixedMtime = () => new Date(1980, 0, 1, 0, 0, 0);
const FILE_MODE = 0o100644;
const ALREADY_COMPRESSED = /\.(tgz|gz|png|zip)$/i;

/** Builds the pack zip from `dir`; throws PCG_ERR_PACK_* as readPackArchive does. */
export async function buildPack(dir: string, options: PackBuildOptions = {}): Promise<BuiltPack> {
  const limits = parsePackLimits(options.limits);
  const files = await listFolder(dir, limits);
  const zip = new yazl.ZipFile();
  const mtime = fixedMtime();
  for (const file of files) {
    zip.addFile(join(dir, ...file.split('/')), file, {
      mtime, mode: FILE_MODE, forceDosTimestamp: true,
      compress: (options.compress ?? true) && !ALREADY_COMPRESSED.test(file),
    });
  }
  zip.end();
  const bytes = await collect(zip.outputStream, limits.maxArchiveBytes);
  const archive = await readPackArchive({ buffer: bytes }, { limits: options.limits ?? {}, ...(options.expected ? { expected: options.expected } : {}) });
  return { zip: bytes, archive };
}

/** Every regular file under `dir`, as sorted archive paths; refuses what a pack cannot hold. */
async function listFolder(dir: string, limits: ReturnType<typeof parsePackLimits>): Promise<string[]> {
  const files: string[] = [];
  let total = 0;
  const walk = async (relative: string): Promise<void> => {
    const names = (await readdir(join(dir, relative))).sort();
    for (const name of names) {
      const path = relative === '' ? name : `${relative}/${name}`;
      const checked = checkEntryPath(path);
      if (!checked.ok || checked.path !== path) {
        throw packError('PCG_ERR_PACK_ARCHIVE', checked.ok ? 'non-canonical-path' : checked.rule,
          checked.ok ? 'the name would change once zipped' : checked.message, { entry: path });
      }
      // lstat: a symlink in the folder would zip whatever it points at (~/.ssh), or be refused by
      // every registry as a symlink entry; either way the author must replace it with the file.
      const info = await lstat(join(dir, ...path.split('/')));
      if (info.isSymbolicLink()) throw packError('PCG_ERR_PACK_ARCHIVE', 'symlink', 'symbolic links cannot go into a pack; copy the file in', { entry: path });
      if (info.isDirectory()) {
        await walk(path);
        continue;
      }
      if (!info.isFile()) throw packError('PCG_ERR_PACK_ARCHIVE', 'special-file', 'only regular files and folders can go into a pack', { entry: path });
      files.push(path);
      total += info.size;
      if (files.length > limits.maxEntries) throw packError('PCG_ERR_PACK_TOO_LARGE', 'entry-count', `the folder has more than ${limits.maxEntries} files`, { entry: path });
      if (total > limits.maxExpandedBytes) throw packError('PCG_ERR_PACK_TOO_LARGE', 'expanded-size', `the folder holds more than ${limits.maxExpandedBytes} bytes`, { entry: path });
    }
  };
  await walk('');
  // Sorted by the whole path, not per folder: `a-b` < `a/b` must order the same everywhere.
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

async function collect(stream: NodeJS.ReadableStream, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) throw packError('PCG_ERR_PACK_TOO_LARGE', 'archive-size', `the archive would be above the limit of ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}
