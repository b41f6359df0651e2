import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { PcgError } from '../../proto/errors.js';
import { nodeDigestName } from './ova-manifest.js';

/** What readOva verified of one file: its manifest digest and its size. */
export interface VerifiedEntry {
  /** The OVA's file name, for the error. */
  readonly ova: string;
  readonly file: string;
  /** The manifest's algorithm (SHA1, SHA256, SHA512). */
  readonly algorithm: string;
  /** Lower-case hex, as readOva checked it. */
  readonly digest: string;
  readonly size: number;
}

/**
 * Passes one file of the OVA through on its way to the upload, hashing it, and fails unless the
 * bytes are those readOva verified. The OVA is read twice (verify, then upload) and may change
 * in between (replaced on disk, a flaky share): the upload must not take other bytes than the
 * verified ones. The chunk that completes the file is only passed on once its digest matched, so
 * a receiver that needs every byte (an NFC upload has its Content-Length) never completes a file
 * that differs; `matched` tells the caller the check ran to its end.
 */
export class VerifiedEntryStream extends Transform {
  readonly #hash: Hash;
  #seen = 0;
  #matched = false;
  #failure: PcgError | undefined;

  constructor(private readonly expected: VerifiedEntry) {
    super();
    this.#hash = createHash(nodeDigestName(expected.algorithm));
  }

  /** True once every byte went through and the digest equals the verified one. */
  get matched(): boolean {
    return this.#matched;
  }

  /** Why the bytes are not the verified ones, once known. */
  get failure(): PcgError | undefined {
    return this.#failure;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.expected.size) return done(this.#fail(`more than the ${this.expected.size} bytes verified`));
    this.#hash.update(chunk);
    if (this.#seen === this.expected.size) {
      const failure = this.#check();
      if (failure) return done(failure);
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.#matched) return done();
    if (this.#seen < this.expected.size) return done(this.#fail(`${this.#seen} of the ${this.expected.size} bytes verified`));
    // Only an empty file reaches here unchecked.
    done(this.#check());
  }

  #check(): PcgError | undefined {
    const actual = this.#hash.digest('hex');
    if (actual === this.expected.digest) {
      this.#matched = true;
      return undefined;
    }
    return this.#fail(`${this.expected.algorithm} ${actual}, verified ${this.expected.digest}`);
  }

  #fail(what: string): PcgError {
    this.#failure ??= new PcgError('PCG_ERR_OVA_INVALID',
      `${this.expected.ova}: ${this.expected.file} changed after it was verified (read for the upload: ${what}); the import was aborted`);
    return this.#failure;
  }
}
