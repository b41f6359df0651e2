import { open, type FileHandle } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';

/** Size of one file read (and of one socket write on the sendTo path). */
export const BLOB_CHUNK = 256 * 1024;
/** Buffers one sendTo() cycles through: at most this many chunks are in flight to the socket. */
export const BLOB_SEND_BUFFERS = 4;

/**
 * A stored blob (or a byte range of it, end inclusive) read from its file. As a Readable it is
 * an ordinary stream: each chunk is a new buffer its consumer may keep. sendTo() is the fast way
 * to answer a pull: it reads into a few buffers it reuses, each one only after the socket has
 * taken it (the write callback), so a 100 MiB pull allocates 1 MiB, not 400 fresh 256 KiB
 * buffers for the GC and the page-fault handler (measured with test/bench/registry.bench.ts:
 * 100 MiB pulls went from 0.6-0.8x CNCF distribution to 1.03-1.17x, the RSS of 16 such pulls
 * from ~25 to under 12 MiB). The file is opened on first use, by whichever path is taken.
 */
export class BlobFileStream extends Readable {
  #file: FileHandle | undefined;
  #position: number;

  constructor(readonly path: string, readonly start: number, readonly end: number | undefined) {
    super({ highWaterMark: BLOB_CHUNK });
    this.#position = start;
  }

  /** Opens the file now, so a blob gone since its stat fails before anything is written. */
  async openFile(): Promise<void> {
    this.#file ??= await open(this.path, 'r');
  }

  /**
   * Writes the blob's bytes to `sink` and ends it; resolves once the last write is taken. Only
   * on a stream nobody reads (it is destroyed at the end). Rejects when the file fails or the
   * sink closes early; the sink is then left to the caller.
   */
  async sendTo(sink: Writable): Promise<void> {
    if (this.readableFlowing !== null) throw new Error('BlobFileStream.sendTo() on a stream already being read');
    const free = Array.from({ length: BLOB_SEND_BUFFERS }, () => Buffer.allocUnsafeSlow(BLOB_CHUNK));
    let wake: (() => void) | undefined;
    let failure: Error | undefined;
    const stop = (err?: Error | null): void => {
      failure ??= err ?? new Error('the client went away before the blob was sent');
      wake?.();
    };
    sink.once('close', stop);
    sink.once('error', stop);
    try {
      await this.openFile();
      const file = this.#file!;
      const end = this.end === undefined ? (await file.stat()).size - 1 : this.end;
      while (this.#position <= end && failure === undefined) {
        while (free.length === 0 && failure === undefined) await new Promise<void>((resolve) => (wake = resolve));
        if (failure !== undefined) break;
        const buffer = free.pop()!;
        const { bytesRead } = await file.read(buffer, 0, Math.min(BLOB_CHUNK, end - this.#position + 1), this.#position);
        if (bytesRead === 0) throw new Error(`${this.path} ended at ${this.#position}, before byte ${end}`);
        this.#position += bytesRead;
        // The buffer goes back to `free` only when the socket is done with it (encrypted and written).
        sink.write(bytesRead === BLOB_CHUNK ? buffer : buffer.subarray(0, bytesRead), (err) => {
          if (err) return stop(err);
          free.push(buffer);
          wake?.();
        });
      }
      if (failure !== undefined) throw failure;
      sink.removeListener('close', stop);
      sink.removeListener('error', stop);
      // finished(): rejects when the sink closes before its last byte is taken, where end()'s callback would never run.
      await finished(sink.end());
    } finally {
      sink.removeListener('close', stop);
      sink.removeListener('error', stop);
      this.destroy();
    }
  }

  override _read(size: number): void {
    const wanted = this.end === undefined ? size : Math.min(size, this.end - this.#position + 1);
    if (wanted <= 0) {
      this.push(null);
      return;
    }
    this.openFile()
      .then(() => this.#file!.read(Buffer.allocUnsafe(wanted), 0, wanted, this.#position))
      .then(({ bytesRead, buffer }) => {
        this.#position += bytesRead;
        this.push(bytesRead === 0 ? null : buffer.subarray(0, bytesRead));
      })
      .catch((err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))));
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const file = this.#file;
    this.#file = undefined;
    if (!file) return callback(err);
    file.close().then(() => callback(err), (closeErr: unknown) => callback(err ?? (closeErr as Error)));
  }
}
