import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { PcgError } from '../../proto/errors.js';
import { FrameOpener, FrameSealer } from '../../proto/frame-sealer.js';

const authError = (detail: RegExp) => (err: unknown): boolean => {
  assert.ok(err instanceof PcgError);
  assert.equal(err.code, 'PCG_ERR_FRAME_AUTH');
  assert.match(err.detail ?? '', detail);
  return true;
};

describe('frame sealing', () => {
  const key = randomBytes(32);
  const text = (s: string) => new TextEncoder().encode(s);

  it('round-trips frames in order', () => {
    const sealer = new FrameSealer(key);
    const opener = new FrameOpener(key);
    for (const s of ['a', 'bb', '']) assert.equal(new TextDecoder().decode(opener.open(sealer.seal(text(s)))), s);
  });

  it('rejects a replayed frame', () => {
    const sealer = new FrameSealer(key);
    const opener = new FrameOpener(key);
    const first = sealer.seal(text('one'));
    opener.open(first);
    assert.throws(() => opener.open(first), authError(/replayed frame \(counter 0, expected 1\)/));
  });

  it('rejects a reordered frame and stays usable for the right one', () => {
    const sealer = new FrameSealer(key);
    const opener = new FrameOpener(key);
    const f0 = sealer.seal(text('0'));
    const f1 = sealer.seal(text('1'));
    assert.throws(() => opener.open(f1), authError(/out of order \(counter 1, expected 0\)/));
    assert.equal(new TextDecoder().decode(opener.open(f0)), '0');
  });

  it('rejects any flipped bit and a wrong key', () => {
    const sealer = new FrameSealer(key);
    const frame = sealer.seal(text('payload'));
    for (const index of [9, frame.length - 1, 20]) {
      const tampered = Buffer.from(frame);
      tampered[index]! ^= 0x01;
      assert.throws(() => new FrameOpener(key).open(tampered), authError(/authentication tag/));
    }
    assert.throws(() => new FrameOpener(randomBytes(32)).open(frame), authError(/authentication tag/));
    assert.throws(() => new FrameOpener(key).open(frame.subarray(0, 10)), authError(/too short/));
  });
});
