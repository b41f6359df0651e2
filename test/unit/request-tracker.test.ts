import { strict as assert } from 'node:assert';
import { getEventListeners } from 'node:events';
import { PcgError } from '../../proto/errors.js';
import { RequestTracker } from '../../proto/request-tracker.js';
import { sleep } from '../support/wait-for.js';

const LONG = { timeoutMs: 60_000, onTimeout: () => new PcgError('PCG_ERR_GATEWAY_TIMEOUT', 'test deadline') };

const pcgError = (code: string, message?: string | RegExp) => (err: unknown): boolean => {
  assert.ok(err instanceof PcgError, `expected a PcgError, got ${String(err)}`);
  assert.equal(err.code, code);
  if (typeof message === 'string') assert.equal(err.message, message);
  else if (message) assert.match(err.message, message);
  return true;
};

describe('RequestTracker', () => {
  let tracker: RequestTracker;
  beforeEach(() => {
    tracker = new RequestTracker();
  });
  afterEach(() => tracker.close(new PcgError('PCG_ERR_TUNNEL_CLOSED', 'test over')));

  it('gives every call its own id, in order', async () => {
    const ids: number[] = [];
    const calls = [0, 1, 2].map(() => tracker.call((id) => void ids.push(id), LONG));
    assert.deepEqual(ids, [0, 1, 2]);
    assert.equal(tracker.size, 3);
    for (const id of ids) assert.equal(tracker.resolve(id, `reply ${id}`), true);
    assert.deepEqual(await Promise.all(calls), ['reply 0', 'reply 1', 'reply 2']);
    assert.equal(tracker.size, 0);
  });

  it('resolves a call with its final reply, once: a second reply returns false', async () => {
    let sent = -1;
    const call = tracker.call<{ ok: true }>((id) => (sent = id), LONG);
    assert.equal(tracker.resolve(sent, { ok: true }), true);
    assert.deepEqual(await call, { ok: true });
    assert.equal(tracker.resolve(sent, { ok: true }), false);
    assert.equal(tracker.resolve(99, {}), false, 'an id nobody asked for');
  });

  it('tells progress replies in order before the final one, and none after it', async () => {
    const seen: string[] = [];
    let sent = -1;
    const call = tracker.call<string, string>((id) => (sent = id), { ...LONG, onProgress: (p) => seen.push(p) });
    assert.equal(tracker.progress(sent, '10%'), true);
    assert.equal(tracker.progress(sent, '50%'), true);
    assert.equal(tracker.progress(sent, '90%'), true);
    assert.equal(tracker.resolve(sent, 'done'), true);
    assert.equal(await call, 'done');
    assert.equal(tracker.progress(sent, 'late'), false);
    assert.deepEqual(seen, ['10%', '50%', '90%']);
  });

  it('rejects with the onTimeout error at the deadline; a late reply then returns false', async () => {
    const deadline = new PcgError('PCG_ERR_GATEWAY_TIMEOUT', 'gateway gw_x did not answer within 30 ms');
    let sent = -1;
    const started = Date.now();
    const call = tracker.call((id) => (sent = id), { timeoutMs: 30, onTimeout: () => deadline });
    await assert.rejects(call, (err) => err === deadline);
    assert.ok(Date.now() - started >= 25, `rejected after ${Date.now() - started} ms`);
    assert.equal(tracker.size, 0);
    assert.equal(tracker.resolve(sent, 'late'), false);
    assert.equal(tracker.progress(sent, 'late'), false);
    assert.equal(tracker.reject(sent, new PcgError('PCG_ERR_INTERNAL')), false);
  });

  it('close(error) rejects every pending call and every later call with that error; close is idempotent', async () => {
    const closed = new PcgError('PCG_ERR_GATEWAY_OFFLINE', 'the tunnel of gateway gw_x closed before it answered');
    const ids: number[] = [];
    const pending = [tracker.call((id) => void ids.push(id), LONG), tracker.call((id) => void ids.push(id), LONG)];
    tracker.close(closed);
    tracker.close(new PcgError('PCG_ERR_INTERNAL', 'a second close'));
    for (const call of pending) await assert.rejects(call, (err) => err === closed);
    assert.equal(tracker.size, 0);
    let sentAfterClose = false;
    await assert.rejects(tracker.call(() => (sentAfterClose = true), LONG), (err) => err === closed);
    assert.equal(sentAfterClose, false, 'nothing goes on the wire after close');
    assert.equal(tracker.resolve(ids[0]!, 'late'), false);
  });

  it('rejects the call with PCG_ERR_TUNNEL_CLOSED when send throws, keeping the cause', async () => {
    const cause = new Error('socket gone');
    await assert.rejects(tracker.call(() => {
      throw cause;
    }, LONG), (err: unknown) => {
      pcgError('PCG_ERR_TUNNEL_CLOSED', /^socket gone\. /)(err);
      assert.equal((err as PcgError).cause, cause);
      return true;
    });
    const closedChannel = new PcgError('PCG_ERR_TUNNEL_CLOSED', 'cannot send echo: the tunnel is closed');
    await assert.rejects(tracker.call(() => {
      throw closedChannel;
    }, LONG), (err) => err === closedChannel);
    assert.equal(tracker.size, 0);
  });

  it('an AbortSignal cancels the call at once, ignores the late reply and leaves no listener behind', async () => {
    const controller = new AbortController();
    let sent = -1;
    const call = tracker.call((id) => (sent = id), { ...LONG, signal: controller.signal });
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    controller.abort();
    await assert.rejects(call, pcgError('PCG_ERR_TUNNEL_CLOSED', /^the request was cancelled before its reply arrived\. /));
    assert.equal(tracker.resolve(sent, 'late'), false);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);

    const why = new PcgError('PCG_ERR_VCENTER_TASK_CANCELLED', 'job cancelled');
    const reasoned = new AbortController();
    const second = tracker.call(() => undefined, { ...LONG, signal: reasoned.signal });
    reasoned.abort(why);
    await assert.rejects(second, (err) => err === why);

    let sentAborted = false;
    await assert.rejects(tracker.call(() => (sentAborted = true), { ...LONG, signal: AbortSignal.abort(why) }), (err) => err === why);
    assert.equal(sentAborted, false, 'an already aborted call never goes on the wire');

    const answered = new AbortController();
    const third = tracker.call<string>((id) => (sent = id), { ...LONG, signal: answered.signal });
    tracker.resolve(sent, 'ok');
    assert.equal(await third, 'ok');
    assert.equal(getEventListeners(answered.signal, 'abort').length, 0, 'a settled call detaches from its signal');
    assert.equal(tracker.size, 0);
  });

  it('rejectWithFrame settles the named request with the peer\'s code and message, unknown codes as PCG_ERR_INTERNAL', async () => {
    const ids: number[] = [];
    const known = tracker.call((id) => void ids.push(id), LONG);
    const unknown = tracker.call((id) => void ids.push(id), LONG);
    assert.equal(tracker.rejectWithFrame({ type: 'error', code: 'PCG_ERR_CERT_RENEW', message: 'refused by the relay', ref: 'cert.renew', id: ids[0]! }), true);
    assert.equal(tracker.rejectWithFrame({ type: 'error', code: 'PCG_ERR_NOT_IN_CATALOGUE', message: 'from a newer peer', id: ids[1]! }), true);
    await assert.rejects(known, pcgError('PCG_ERR_CERT_RENEW', 'refused by the relay'));
    await assert.rejects(unknown, pcgError('PCG_ERR_INTERNAL', 'from a newer peer'));
    assert.equal(tracker.rejectWithFrame({ type: 'error', code: 'PCG_ERR_CERT_RENEW', message: 'late', id: ids[0]! }), false);
  });

  it('a late reply after a cancel does not disturb a newer call', async () => {
    const controller = new AbortController();
    const ids: number[] = [];
    const first = tracker.call((id) => void ids.push(id), { ...LONG, signal: controller.signal });
    controller.abort();
    await assert.rejects(first);
    const second = tracker.call<string>((id) => void ids.push(id), LONG);
    assert.notEqual(ids[1], ids[0]);
    assert.equal(tracker.resolve(ids[0]!, 'stale'), false);
    await sleep(1);
    assert.equal(tracker.size, 1);
    tracker.resolve(ids[1]!, 'fresh');
    assert.equal(await second, 'fresh');
  });
});
