import nacl from 'tweetnacl';
import { PcgError } from './errors.js';

/**
 * Sealed frame = 8-byte big-endian counter ‖ secretbox(plaintext, nonce(counter), key).
 *
 * Each direction has its own key and its own counter starting at 0. The receiver accepts only
 * the next counter: a replayed frame (counter too low), a dropped or reordered one (too high)
 * and a tampered one (MAC fails) are all rejected, and the caller closes the connection.
 */
const COUNTER_BYTES = 8;

/** Bytes a sealed frame adds to its plaintext: the counter and the authentication tag. */
export const SEAL_OVERHEAD_BYTES = COUNTER_BYTES + nacl.secretbox.overheadLength;

function nonceFor(counter: number): Uint8Array {
  const nonce = new Uint8Array(nacl.secretbox.nonceLength);
  new DataView(nonce.buffer).setBigUint64(0, BigInt(counter));
  return nonce;
}

export class FrameSealer {
  #counter = 0;
  readonly #key: Uint8Array;

  constructor(key: Uint8Array) {
    if (key.length !== nacl.secretbox.keyLength) throw new RangeError('secretbox key must be 32 bytes');
    this.#key = key;
  }

  seal(plaintext: Uint8Array): Buffer {
    const counter = this.#counter++;
    const box = nacl.secretbox(plaintext, nonceFor(counter), this.#key);
    const out = Buffer.allocUnsafe(COUNTER_BYTES + box.length);
    out.writeBigUInt64BE(BigInt(counter), 0);
    out.set(box, COUNTER_BYTES);
    return out;
  }
}

export class FrameOpener {
  #expected = 0;
  readonly #key: Uint8Array;

  constructor(key: Uint8Array) {
    if (key.length !== nacl.secretbox.keyLength) throw new RangeError('secretbox key must be 32 bytes');
    this.#key = key;
  }

  /** Returns the plaintext or throws PCG_ERR_FRAME_AUTH; a failed frame does not advance the counter. */
  open(frame: Uint8Array): Uint8Array {
    if (frame.length < COUNTER_BYTES + nacl.secretbox.overheadLength) {
      throw new PcgError('PCG_ERR_FRAME_AUTH', `sealed frame of ${frame.length} bytes is too short`);
    }
    const counter = Number(Buffer.from(frame.buffer, frame.byteOffset, COUNTER_BYTES).readBigUInt64BE(0));
    if (counter < this.#expected) throw new PcgError('PCG_ERR_FRAME_AUTH', `replayed frame (counter ${counter}, expected ${this.#expected})`);
    if (counter > this.#expected) throw new PcgError('PCG_ERR_FRAME_AUTH', `frame out of order (counter ${counter}, expected ${this.#expected})`);
    const plain = nacl.secretbox.open(frame.subarray(COUNTER_BYTES), nonceFor(counter), this.#key);
    if (!plain) throw new PcgError('PCG_ERR_FRAME_AUTH', `frame ${counter} failed its authentication tag (tampered or wrong key)`);
    this.#expected++;
    return plain;
  }
}
