import { strict as assert } from 'node:assert';
import { Backoff } from '../../gateway/tunnel/backoff.js';
import { proxyForUrl } from '../../gateway/net/proxy-for-url.js';

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

describe('HTTPS_PROXY / NO_PROXY', () => {
  const proxy = 'http://proxy.corp:3128';
  const url = (s: string) => new URL(s);
  it('uses the proxy unless NO_PROXY matches host, domain, port or *', () => {
    assert.equal(proxyForUrl(url('wss://relay.saas.io/v1/tunnel'), { httpsProxy: proxy }), proxy);
    assert.equal(proxyForUrl(url('wss://relay.saas.io/'), { httpsProxy: proxy, noProxy: 'saas.io' }), undefined);
    assert.equal(proxyForUrl(url('wss://relay.saas.io/'), { httpsProxy: proxy, noProxy: '.saas.io' }), undefined);
    assert.equal(proxyForUrl(url('wss://notsaas.io/'), { httpsProxy: proxy, noProxy: 'saas.io' }), proxy);
    assert.equal(proxyForUrl(url('wss://127.0.0.1:8443/'), { httpsProxy: proxy, noProxy: '127.0.0.1:9000' }), proxy);
    assert.equal(proxyForUrl(url('wss://127.0.0.1:8443/'), { httpsProxy: proxy, noProxy: 'localhost, 127.0.0.1:8443' }), undefined);
    assert.equal(proxyForUrl(url('wss://[::1]:8443/'), { httpsProxy: proxy, noProxy: '::1' }), undefined);
    assert.equal(proxyForUrl(url('wss://x.io/'), { httpsProxy: proxy, noProxy: '*' }), undefined);
    assert.equal(proxyForUrl(url('wss://x.io/'), {}), undefined);
  });
});
