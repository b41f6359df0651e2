import { strict as assert } from 'node:assert';
import { checkNetwork } from '../../installer-ova/setup/network-check.js';
import type { NetworkSettings } from '../../installer-ova/setup/setup-settings.js';

type StaticNetwork = Extract<NetworkSettings, { mode: 'static' }>;
const base: StaticNetwork = { mode: 'static', ip: '192.168.10.20', prefix: 24, gateway: '192.168.10.1', dns: ['192.168.10.2', '1.1.1.1'] };

describe('installer: network check', () => {
  it('accepts DHCP at once', async () => {
    const report = await checkNetwork({ mode: 'dhcp' });
    assert.equal(report.ok, true);
    assert.deepEqual(report.steps.map((s) => s.step), ['mode']);
  });

  it('accepts a valid static configuration, step by step', async () => {
    const report = await checkNetwork(base);
    assert.equal(report.ok, true, JSON.stringify(report.error));
    assert.deepEqual(report.steps.map((s) => `${s.step}=${s.detail}`), [
      'ip=192.168.10.20', 'prefix=/24, netmask 255.255.255.0', 'subnet=subnet 192.168.10.0/24',
      'gateway=192.168.10.1, inside 192.168.10.0/24', 'dns=192.168.10.2, 1.1.1.1',
    ]);
  });

  const cases: Array<[string, Partial<StaticNetwork>, string, RegExp]> = [
    ['address not dotted IPv4', { ip: '192.168.10' }, 'network.ip', /is not a dotted IPv4 address/],
    ['address with a leading zero', { ip: '192.168.010.20' }, 'network.ip', /is not a dotted IPv4 address/],
    ['loopback address', { ip: '127.0.0.5', gateway: '127.0.0.1', prefix: 8 }, 'network.ip', /not a usable host address/],
    ['prefix 0', { prefix: 0 }, 'network.prefix', /0 is not a prefix length from 1 to 32/],
    ['prefix 33', { prefix: 33 }, 'network.prefix', /33 is not a prefix length/],
    ['network address', { ip: '192.168.10.0' }, 'network.ip', /is the network address of 192\.168\.10\.0\/24/],
    ['broadcast address', { ip: '192.168.10.255' }, 'network.ip', /is the broadcast address of 192\.168\.10\.0\/24/],
    ['gateway outside the subnet', { gateway: '192.168.11.1' }, 'network.gateway', /192\.168\.11\.1 is outside the subnet 192\.168\.10\.0\/24/],
    ['gateway equal to the address', { gateway: '192.168.10.20' }, 'network.gateway', /is the appliance's own address/],
    ['gateway on the broadcast address', { gateway: '192.168.10.255' }, 'network.gateway', /is the broadcast address/],
    ['gateway not an address', { gateway: 'router' }, 'network.gateway', /"router" is not a dotted IPv4 address/],
    ['no DNS server', { dns: [] }, 'network.dns', /enter at least one DNS server/],
    ['second DNS server invalid', { dns: ['1.1.1.1', '8.8.8'] }, 'network.dns.1', /"8\.8\.8" is not a dotted IPv4 address/],
  ];
  for (const [name, change, field, message] of cases) {
    it(`refuses: ${name} (${field})`, async () => {
      const report = await checkNetwork({ ...base, ...change });
      assert.equal(report.ok, false);
      assert.equal(report.error?.code, 'PCG_ERR_NETWORK_INVALID');
      assert.equal(report.error?.field, field);
      assert.match(report.error?.message ?? '', message);
      assert.equal(report.steps.at(-1)?.ok, false);
    });
  }

  it('/31 has no network or broadcast address, /30 does', async () => {
    assert.equal((await checkNetwork({ ...base, ip: '10.0.0.0', gateway: '10.0.0.1', prefix: 31 })).ok, true);
    assert.equal((await checkNetwork({ ...base, ip: '10.0.0.0', gateway: '10.0.0.1', prefix: 30 })).error?.field, 'network.ip');
  });
});
