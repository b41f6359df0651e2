import { strict as assert } from 'node:assert';
import { PcgError } from '../../proto/errors.js';
import { decodeFrame, encodeFrame, validateFrame } from '../../proto/frame-codec.js';
import { GATEWAY_FRAME_TYPES } from '../../proto/schemas/frames.js';

const invalid = (detail: RegExp) => (err: unknown): boolean => err instanceof PcgError && err.code === 'PCG_ERR_FRAME_INVALID' && detail.test(err.message);

describe('frame validation', () => {
  const heartbeat = { type: 'heartbeat', seq: 1, time: 5, status: { version: 'v', uptime_s: 1 } } as const;

  it('accepts a valid frame and round-trips it', () => {
    assert.deepEqual(decodeFrame(encodeFrame(heartbeat), GATEWAY_FRAME_TYPES), heartbeat);
  });

  it('names the offending path, the type, or the allowed set', () => {
    assert.throws(() => validateFrame({ ...heartbeat, seq: -1 }), invalid(/heartbeat frame: \/seq/));
    assert.throws(() => validateFrame({ ...heartbeat, extra: 1 }), invalid(/heartbeat frame/));
    assert.throws(() => validateFrame({ type: 'nope' }), invalid(/"nope" is not accepted/));
    assert.throws(() => validateFrame({ seq: 1 }), invalid(/no string "type"/));
    assert.throws(() => validateFrame({ type: 'welcome', epoch: 1, heartbeat_s: 1, server_time: 1 }, GATEWAY_FRAME_TYPES), invalid(/"welcome" is not accepted here/));
    assert.throws(() => decodeFrame(new Uint8Array([0xff, 0xfe])), invalid(/not UTF-8 JSON/));
  });
});
