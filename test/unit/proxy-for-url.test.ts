import { strict as assert } from 'node:assert';
import { proxyForUrl } from '../../gateway/net/proxy-for-url.js';

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
