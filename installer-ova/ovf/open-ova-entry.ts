import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { PcgError } from '../../proto/errors.js';

/**
 * One file of an OVA as a stream, read straight from the tar (nothing is extracted to disk):
 * resolves once the entry is reached, with its size. The caller must consume or destroy `stream`;
 * destroying it closes the OVA.
 */
export async function openOvaEntry(path: string, name: string): Promise<{ stream: Readable; size: number }> {
  const source = createReadStream(path);
  const tar = extract();
  source.on('error', (err) => tar.destroy(err));
  source.pipe(tar);
  const iterator = tar[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) throw new PcgError('PCG_ERR_OVA_INVALID', `${basename(path)}: ${name} is not in the OVA`);
      const entry = next.value;
      if (entry.header.name !== name) {
        entry.resume();
        continue;
      }
      const out = new PassThrough();
      entry.on('error', (err: Error) => out.destroy(err));
      entry.pipe(out);
      // Ends the read of the OVA when the caller is done with this entry, or gives up on it.
      out.on('close', () => source.destroy());
      return { stream: out, size: entry.header.size ?? 0 };
    }
  } catch (err) {
    source.destroy();
    throw err;
  }
}
