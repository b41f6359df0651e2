import { strict as assert } from 'node:assert';
import { Backoff } from '../../gateway/tunnel/backoff.js';

describe('reconnect backoff', () => {
  it('grows exponentially to the cap, with full jitter and a floor', () => {
    const ceilings: number[] = [];
    const backoff = new Backoff({ initialMs: 500, maxMs: 4000, floorMs: 100 }, () => 1);
    for (let i = 0; i < 6; i++) ceilings.push(backoff.next());
    assert.deepEqual(ceilings, [500, 1000, 2000, 4000, 4000, 4000]);
    const low = new Backoff({ initialMs: 500, maxMs: 4000, floorMs: 100 }, () => 0);
    assert.equal(low.next(), 100, 'never spins at 0 ms');
    backoff.reset();
    assert.equal(backoff.next(), 500);
  });

  it('spreads a retry-after hint over [hint, 2·hint]', () => {
    assert.equal(new Backoff({ initialMs: 1, maxMs: 1, floorMs: 0 }, () => 0).afterHint(1000), 1000);
    assert.equal(new Backoff({ initialMs: 1, maxMs: 1, floorMs: 0 }, () => 0.5).afterHint(1000), 1500);
  });
});
