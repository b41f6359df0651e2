/**
 * Writes an upload to a temp file, stopping at the first byte over the limit. A zip keeps its
 * directory at its end, so it cannot be checked while it streams in; spooling to disk (instead of
 * memory) keeps an upload's memory cost at one chunk, whatever the archive limit is.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { packError } from '../packs/pack-error.js';

export interface SpooledFile {
  readonly path: string;
  readonly size: number;
  /** Removes the file; idempotent. */
  remove(): Promise<void>;
}

/** Spools `source` into a new file under `dir` (0600); throws PCG_ERR_PACK_TOO_LARGE past `maxBytes`. */
export async function spoolToFile(source: AsyncIterable<Buffer | Uint8Array> | NodeJS.ReadableStream, dir: string, maxBytes: number): Promise<SpooledFile> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `upload-${randomBytes(12).toString('hex')}.zip`);
  const remove = () => rm(path, { force: true });
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      size += chunk.length;
      if (size > maxBytes) done(packError('PCG_ERR_PACK_TOO_LARGE', 'archive-size', `the archive is above the limit of ${maxBytes} bytes`));
      else done(null, chunk);
    },
  });
  try {
    await pipeline(source, counter, createWriteStream(path, { mode: 0o600 }));
  } catch (err) {
    await remove();
    throw err;
  }
  return { path, size, remove };
}
