import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Digest } from './content-store.js';

/**
 * Streams `source` into `file` (at its current end), feeding every chunk to `hash` on the way, and
 * fsyncs. Never holds more than one chunk: backpressure is the await on each write. Returns the
 * bytes written. The caller owns and closes `file`; `source` is destroyed on error.
 */
export async function writeHashed(source: Readable, file: FileHandle, hash: Hash, position: number): Promise<number> {
  let written = 0;
  try {
    for await (const chunk of source) {
      const data = chunk as Buffer;
      hash.update(data);
      let offset = 0;
      while (offset < data.length) {
        const { bytesWritten } = await file.write(data, offset, data.length - offset, position + written + offset);
        offset += bytesWritten;
      }
      written += data.length;
    }
  } catch (err) {
    source.destroy();
    throw err;
  }
  await file.sync();
  return written;
}

export const digestOf = (hash: Hash): Digest => `sha256:${hash.digest('hex')}`;

/** sha256 of a file's bytes, streamed (for an upload resumed after a restart, whose running hash was lost). */
export async function hashFile(path: string): Promise<Hash> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash;
}
