import { strict as assert } from 'node:assert';
import { fromNtpTimestamp, parseNtpServer, querySntp, sntpOffset, toNtpTimestamp } from '../../installer-ova/setup/sntp-client.js';
import { PcgError } from '../../proto/errors.js';
import { SntpServer } from '../support/installer-sntp-server.js';

describe('installer: SNTP client', () => {
  it('computes offset and delay from the four timestamps (RFC 4330 §5)', () => {
    // Server 1000 ms ahead, 20 ms each way, 5 ms inside the server.
    assert.deepEqual(sntpOffset(10_000, 11_020, 11_025, 10_045), { offsetMs: 1000, delayMs: 40 });
    // Server 500 ms behind, asymmetric path (30 ms out, 10 ms back): off by half the asymmetry, 10 ms.
    assert.deepEqual(sntpOffset(10_000, 9_530, 9_530, 10_040), { offsetMs: -490, delayMs: 40 });
    assert.deepEqual(sntpOffset(0, 0, 0, 0), { offsetMs: 0, delayMs: 0 });
  });

  it('writes and reads NTP timestamps (era 1900, 32-bit fraction) to the millisecond', () => {
    const buf = Buffer.alloc(8);
    const t = Date.UTC(2026, 4, 17, 12, 34, 56, 789);
    toNtpTimestamp(t, buf, 0);
    assert.equal(buf.readUInt32BE(0), Math.floor(t / 1000) + 2_208_988_800);
    assert.ok(Math.abs(fromNtpTimestamp(buf, 0) - t) < 0.001);
  });

  it('parses host, host:port, [v6]:port and bare IPv6', () => {
    assert.deepEqual(parseNtpServer('pool.ntp.org'), { host: 'pool.ntp.org', port: 123 });
    assert.deepEqual(parseNtpServer('127.0.0.1:40123'), { host: '127.0.0.1', port: 40123 });
    assert.deepEqual(parseNtpServer('[::1]:40123'), { host: '::1', port: 40123 });
    assert.deepEqual(parseNtpServer('fe80::1'), { host: 'fe80::1', port: 123 });
    assert.throws(() => parseNtpServer('host:99999'), /ntp\.servers: "host:99999" is not host or host:port/);
  });

  it('measures a loopback server 90 s ahead within 50 ms', async () => {
    const server = await SntpServer.start({ offsetMs: 90_000 });
    try {
      const sample = await querySntp(server.address);
      assert.ok(Math.abs(sample.offsetMs - 90_000) < 50, `offset ${sample.offsetMs}`);
      assert.equal(sample.stratum, 2);
      assert.equal(server.requests, 1);
    } finally {
      await server.close();
    }
  });

  it('a silent server is PCG_ERR_NTP_UNREACHABLE after the timeout, asked once', async () => {
    const server = await SntpServer.start({ silent: true });
    try {
      await assert.rejects(querySntp(server.address, { timeoutMs: 100 }), (err: unknown) => err instanceof PcgError && err.code === 'PCG_ERR_NTP_UNREACHABLE'
        && err.message.startsWith(`NTP server ${server.address} did not answer within 100 ms. `));
      assert.equal(server.requests, 1);
    } finally {
      await server.close();
    }
  });
});
