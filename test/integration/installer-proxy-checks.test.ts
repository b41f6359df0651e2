import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkProxy } from '../../installer-ova/setup/proxy-check.js';
import { ProcessLauncher } from '../../installer-ova/setup/process-launcher.js';
import { checkRelay } from '../../installer-ova/setup/relay-check.js';
import { runSetup } from '../../installer-ova/setup/setup-runner.js';
import { ConnectProxy } from '../support/connect-proxy.js';
import { InstallerLab } from '../support/installer-lab.js';

describe('installer relay check through an HTTP proxy (real relay, CONNECT proxies on loopback)', function () {
  this.timeout(60_000);
  let lab: InstallerLab;
  let tunnel: ConnectProxy;
  let intercept: ConnectProxy;
  let refusing: Server;
  let refusingUrl: string;
  const proxyAuthorizations: Array<string | undefined> = [];

  before(async () => {
    [lab, tunnel, intercept] = await Promise.all([InstallerLab.start(), ConnectProxy.start('tunnel'), ConnectProxy.start('intercept')]);
    refusing = createServer((_req, res) => res.writeHead(405).end());
    refusing.on('connect', (req, socket: import('node:net').Socket) => {
      proxyAuthorizations.push(req.headers['proxy-authorization']);
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    refusingUrl = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
  });
  after(async () => {
    await Promise.all([lab?.cleanup(), tunnel?.close(), intercept?.close(), new Promise((resolve) => refusing?.close(resolve))]);
  });

  it('reaches the relay through a CONNECT proxy, with the pin checked end to end', async () => {
    const report = await checkRelay({ relayUrl: lab.relay.url, caPin: lab.relay.caPin, proxy: { httpsProxy: tunnel.url } });
    assert.equal(report.ok, true, JSON.stringify(report.error));
    assert.deepEqual(report.steps.map((s) => s.step), ['url', 'proxy', 'connect', 'tls', 'clock']);
    const target = new URL(lab.relay.url).host;
    assert.deepEqual(tunnel.connects, [target, target, target]);
  });

  it('NO_PROXY exempts the relay: DNS and TCP straight to it, the proxy never asked', async () => {
    const before = tunnel.connects.length;
    const report = await checkRelay({ relayUrl: lab.relay.url, caPin: lab.relay.caPin, proxy: { httpsProxy: tunnel.url, noProxy: '127.0.0.1' } });
    assert.deepEqual(report.steps.map((s) => s.step), ['url', 'dns', 'tcp', 'tls', 'clock']);
    assert.equal(tunnel.connects.length, before);
  });

  it('a TLS-inspecting proxy fails the pin: PCG_ERR_TLS_INTERCEPTED naming its CA', async () => {
    const report = await checkRelay({ relayUrl: lab.relay.url, caPin: lab.relay.caPin, proxy: { httpsProxy: intercept.url } });
    assert.deepEqual([report.error?.code, report.error?.field, report.steps.at(-1)?.step], ['PCG_ERR_TLS_INTERCEPTED', 'caPin', 'tls']);
    assert.match(report.error?.message ?? '', /is issued by "O=PCG, CN=Corp Inspection CA"/);
  });

  it('a proxy refusing CONNECT: PCG_ERR_PROXY_UNREACHABLE with its status, from the relay and the proxy checks', async () => {
    const relay = await checkRelay({ relayUrl: lab.relay.url, caPin: lab.relay.caPin, proxy: { httpsProxy: refusingUrl } });
    assert.deepEqual([relay.error?.code, relay.error?.field, relay.steps.at(-1)?.step], ['PCG_ERR_PROXY_UNREACHABLE', 'proxy.httpsProxy', 'connect']);
    assert.match(relay.error?.message ?? '', new RegExp(`^proxy 127\\.0\\.0\\.1:\\d+ refused CONNECT ${new URL(lab.relay.url).host}: HTTP 403 Forbidden`));
    const proxy = await checkProxy({ proxy: { httpsProxy: refusingUrl, proxyCaPem: intercept.caPem }, relayUrl: lab.relay.url });
    assert.deepEqual(proxy.steps.map((s) => `${s.step}:${s.ok}`), ['url:true', 'dns:true', 'tcp:true', 'connect:false']);
    const ok = await checkProxy({ proxy: { httpsProxy: tunnel.url, proxyCaPem: intercept.caPem }, relayUrl: lab.relay.url });
    assert.equal(ok.ok, true, JSON.stringify(ok.error));
    assert.match(ok.steps.at(-1)!.detail, /^CA "O=PCG, CN=Corp Inspection CA"/);
    const notCa = await checkProxy({ proxy: { httpsProxy: tunnel.url, proxyCaPem: 'garbage' }, relayUrl: lab.relay.url });
    assert.deepEqual([notCa.error?.code, notCa.error?.field], ['PCG_ERR_CONFIG_INVALID', 'proxy.proxyCaPem']);
  });

  it('a proxy URL with credentials: sent as Proxy-Authorization, never in a detail, message or normalised value', async () => {
    const withCredentials = refusingUrl.replace('http://', 'http://pcg%40corp:hunter2sec@');
    const seen = proxyAuthorizations.length;
    const relay = await checkRelay({ relayUrl: lab.relay.url, caPin: lab.relay.caPin, proxy: { httpsProxy: withCredentials } });
    const proxy = await checkProxy({ proxy: { httpsProxy: withCredentials }, relayUrl: lab.relay.url });
    const badPath = await checkProxy({ proxy: { httpsProxy: `${withCredentials}/proxy.pac` }, relayUrl: lab.relay.url });
    const unreachable = await checkProxy({ proxy: { httpsProxy: 'pcg:hunter2sec@127.0.0.1:1' }, relayUrl: lab.relay.url });
    const dirs = lab.dirs();
    const setup = await runSetup({ relayUrl: lab.relay.url, caPin: lab.relay.caPin, pairingCode: 'AAAA-AAAA-AAAA-AAAA', proxy: { httpsProxy: withCredentials } }, {
      installerDir: dirs.installerDir, gatewayStateDir: dirs.stateDir, gatewayConfig: dirs.configFile, launcher: new ProcessLauncher(dirs.installerDir),
    });
    assert.deepEqual(proxyAuthorizations.slice(seen), Array(3).fill(`Basic ${Buffer.from('pcg@corp:hunter2sec').toString('base64')}`));
    assert.deepEqual([relay.error?.code, proxy.error?.code, badPath.error?.code, unreachable.error?.code, setup.error?.code],
      ['PCG_ERR_PROXY_UNREACHABLE', 'PCG_ERR_PROXY_UNREACHABLE', 'PCG_ERR_CONFIG_INVALID', 'PCG_ERR_PROXY_UNREACHABLE', 'PCG_ERR_PROXY_UNREACHABLE']);
    assert.equal(badPath.error?.message.startsWith(`proxy.httpsProxy: "${refusingUrl}/proxy.pac" has a path or query`), true, badPath.error?.message);
    assert.equal(proxy.steps[0]?.detail, refusingUrl);
    assert.equal(proxy.normalized, undefined, 'the form keeps the URL as typed');
    for (const report of [relay, proxy, badPath, unreachable, setup]) {
      assert.ok(!/hunter2sec|pcg%40corp|pcg@corp/.test(JSON.stringify(report)), JSON.stringify(report));
    }
  });
});
