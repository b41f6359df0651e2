import { strict as assert } from 'node:assert';
import { ManualClock } from '../../proto/clock.js';
import { packNeeds } from '../../proto/registry/pack-challenge.js';
import { parseScope, RegistryAuth, type RegistryCredentials } from '../../proto/registry/registry-auth.js';
import { AuthLimiter } from '../../proto/registry/registry-auth-limiter.js';
import { RegistryError } from '../../proto/registry/registry-error.js';
import { Secret } from '../../proto/secret.js';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** A pusher of team/* only, and one read token for `shared`. */
const credentials: RegistryCredentials = {
  authenticate: (user, password) => Promise.resolve(user === 'dev' && password === 'pw' ? [{ repository: 'team/app', actions: ['pull', 'push'] }] : undefined),
  verifyReadToken: (token) => (token === 'read-me' ? ['shared'] : undefined),
};

describe('registry: RegistryAuth (basic, bearer tokens, read tokens)', () => {
  const clock = new ManualClock();
  const auth = new RegistryAuth({ tokenTtlMs: 60_000 }, { credentials, key: new Secret(Buffer.alloc(32, 7)), clock });

  it('parses scopes, dropping unknown actions and types', () => {
    assert.deepEqual(parseScope('repository:team/app:pull,push,bogus'), { name: 'team/app', actions: ['pull', 'push'] });
    assert.equal(parseScope('registry:catalog:*'), undefined);
    assert.equal(parseScope('repository:noactions'), undefined);
  });

  it('a token holds only the granted part of the scopes asked for, and expires after tokenTtlMs', async () => {
    const issued = await auth.issueToken(basic('dev', 'pw'), ['repository:team/app:pull,push,delete repository:other:pull']);
    const principal = (await auth.principal(`Bearer ${issued.token}`))!;
    assert.equal(principal.via, 'token');
    assert.deepEqual(principal.grants, [{ repository: 'team/app', actions: ['pull', 'push'] }]);
    assert.equal(auth.allows(principal, { repository: 'team/app', action: 'push' }), true);
    assert.equal(auth.allows(principal, { repository: 'team/app', action: 'delete' }), false);
    assert.equal(auth.allows(principal, { repository: 'other', action: 'pull' }), false);
    clock.advance(60_000);
    await assert.rejects(auth.principal(`Bearer ${issued.token}`), (err: unknown) => err instanceof RegistryError && err.ociCode === 'UNAUTHORIZED');
  });

  it('a read token passes as bearer or as a basic password, pull only; wrong credentials are UNAUTHORIZED without echoing them', async () => {
    for (const header of ['Bearer read-me', basic('anyone', 'read-me')]) {
      const principal = (await auth.principal(header))!;
      assert.deepEqual(principal.grants, [{ repository: 'shared', actions: ['pull'] }]);
    }
    await assert.rejects(auth.principal(basic('dev', 'leaked-guess')), (err: unknown) => err instanceof RegistryError && err.status === 401 && !err.message.includes('leaked-guess'));
    await assert.rejects(auth.issueToken(undefined, ['repository:team/app:pull']), (err: unknown) => err instanceof RegistryError && err.ociCode === 'UNAUTHORIZED');
    assert.equal(await auth.principal(undefined), undefined);
  });

  it('challenges name the realm, the service and the scopes grouped per repository', () => {
    assert.equal(auth.challenge('https://gw:8443', [{ repository: 'a/b', action: 'pull' }, { repository: 'a/b', action: 'push' }, { repository: 'c', action: 'pull' }], 'insufficient_scope'),
      'Bearer realm="https://gw:8443/v2/token",service="pcg-registry",scope="repository:a/b:pull,push repository:c:pull",error="insufficient_scope"');
  });

  it('issueFor: a token for a principal proven otherwise (a gateway certificate), with exactly the grants given, for tokenTtlMs', async () => {
    const token = auth.issueFor('gateway gw_1', [{ repository: '*', actions: ['pull'] }]);
    const principal = (await auth.principal(`Bearer ${token}`))!;
    assert.deepEqual([principal.subject, principal.via, principal.grants], ['gateway gw_1', 'token', [{ repository: '*', actions: ['pull'] }]]);
    assert.equal(auth.allows(principal, { repository: 'packs/ubuntu', action: 'pull' }), true);
    assert.equal(auth.allows(principal, { repository: 'packs/ubuntu', action: 'push' }), false);
    const other = new RegistryAuth({}, { credentials, key: new Secret(Buffer.alloc(32, 8)), clock });
    await assert.rejects(other.principal(`Bearer ${token}`), (err: unknown) => err instanceof RegistryError && err.ociCode === 'UNAUTHORIZED', 'signed with the registry\'s own key');
    clock.advance(60_000);
    await assert.rejects(auth.principal(`Bearer ${token}`), (err: unknown) => err instanceof RegistryError && err.ociCode === 'UNAUTHORIZED');
  });

  it('a read token whose cluster may pull nothing is recognised (not UNAUTHORIZED) but allowed nothing', async () => {
    const none = new RegistryAuth({}, { credentials: { authenticate: () => Promise.resolve(undefined), verifyReadToken: (t) => (t === 'scoped-out' ? [] : undefined) }, key: new Secret(Buffer.alloc(32, 7)), clock });
    const principal = (await none.principal('Bearer scoped-out'))!;
    assert.deepEqual([principal.via, principal.grants], ['basic', []]);
    assert.equal(none.allows(principal, { repository: 'packs/ubuntu', action: 'pull' }), false);
  });

  it('/v1/packs needs as challenges name them: the pack\'s repository, or packs/* without one; writes ask pull,push', () => {
    const request = (method: string, params: object, query: object = {}) => ({ method, params, query }) as unknown as Parameters<typeof packNeeds>[0];
    assert.deepEqual(packNeeds(request('GET', { name: 'calico', ref: '3.27.0' })), [{ repository: 'packs/calico', action: 'pull' }]);
    assert.deepEqual(packNeeds(request('GET', {}, { name: 'calico' })), [{ repository: 'packs/calico', action: 'pull' }]);
    assert.deepEqual(packNeeds(request('POST', {})), [{ repository: 'packs/*', action: 'pull' }, { repository: 'packs/*', action: 'push' }]);
    assert.deepEqual(packNeeds(request('DELETE', { name: 'calico', version: '3.27.0' })), [{ repository: 'packs/calico', action: 'delete' }]);
  });

  it('AuthLimiter: failures per address per minute, refilled with time; IPv6 counts per /64; memory bounded', () => {
    const limiterClock = new ManualClock();
    const limiter = new AuthLimiter({ failuresPerMinute: 3, maxAddresses: 2 }, limiterClock);
    for (let i = 0; i < 3; i++) limiter.failed('10.0.0.1');
    assert.equal(limiter.retryAfterMs('10.0.0.1'), 20_000);
    assert.equal(limiter.retryAfterMs('10.0.0.2'), 0);
    limiterClock.advance(20_000);
    assert.equal(limiter.retryAfterMs('10.0.0.1'), 0);
    for (let i = 0; i < 3; i++) limiter.failed(`2001:db8:0:1::${i}`);
    assert.equal(limiter.retryAfterMs('2001:0db8:0000:0001:ffff::9'), 20_000, 'same /64');
    limiter.failed('10.0.0.3');
    assert.equal(limiter.retryAfterMs('10.0.0.1'), 0, 'the least recently failing address was forgotten');
  });
});
