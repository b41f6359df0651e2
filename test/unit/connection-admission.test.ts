import { strict as assert } from 'node:assert';
import { connect as tcpConnect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { addressKey } from '../../saas-relay/net/address-key.js';
import { ConnectionGate, type ConnectionGateOptions } from '../../saas-relay/net/connection-gate.js';
import { connectionLimits } from '../../saas-relay/net/connection-limits.js';
import { CertificateAuthority } from '../../saas-relay/tls/certificate-authority.js';

const caPair = CertificateAuthority.generate('admission test CA', Date.now());
const ca = new CertificateAuthority(caPair.keyPem, caPair.certPem);
const leaf = ca.issueServer(['localhost', '127.0.0.1'], Date.now(), 3_600_000);

/** Resolves when `socket` closes, with the milliseconds since `from`. */
const closedAfter = (socket: Socket, from: number): Promise<number> =>
  new Promise((resolve) => (socket.destroyed ? resolve(Date.now() - from) : socket.once('close', () => resolve(Date.now() - from))));

/** A TCP connection from `localAddress` that has connected (and sent nothing); it reads and drops what it receives. */
function rawSocket(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ port, host: '127.0.0.1', localAddress });
    socket.on('error', () => undefined);
    socket.resume(); // discard what the server sends, so its close is seen
    socket.once('connect', () => resolve(socket));
    socket.once('close', () => reject(new Error('closed before connect')));
  });
}

/** A full TLS handshake from `localAddress`; resolves with the milliseconds it took, rejects if refused. */
function tlsHandshake(port: number, localAddress = '127.0.0.1'): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tcp = tcpConnect({ port, host: '127.0.0.1', localAddress });
    const socket = tlsConnect({ socket: tcp, ca: caPair.certPem, servername: 'localhost' });
    socket.once('secureConnect', () => {
      resolve(Date.now() - started);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

/** The bytes a real TLS client sends first: its ClientHello, captured once. */
async function captureClientHello(): Promise<Buffer> {
  const capture = createTcpServer();
  await new Promise<void>((resolve) => capture.listen(0, '127.0.0.1', resolve));
  try {
    const hello = new Promise<Buffer>((resolve) => capture.once('connection', (s: Socket) => s.once('data', (d: Buffer) => {
      resolve(d);
      s.destroy();
    })));
    const client = tlsConnect({ port: (capture.address() as AddressInfo).port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false });
    client.on('error', () => undefined);
    return await hello;
  } finally {
    capture.close();
  }
}

describe('connection gate (admission before TLS)', function () {
  this.timeout(20_000);
  let server: TlsServer;
  let gate: ConnectionGate;
  let port: number;
  const sockets: Socket[] = [];

  async function start(options: Partial<ConnectionGateOptions>): Promise<void> {
    server = createTlsServer({ key: leaf.keyPem, cert: leaf.certPem, handshakeTimeout: 60_000 }, (tls) => tls.on('error', () => undefined));
    gate = ConnectionGate.install(server, { clientHelloTimeoutMs: 800, tlsHandshakeTimeoutMs: 1500, ...options });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  }
  async function held(localAddress?: string): Promise<Socket> {
    const socket = await rawSocket(port, localAddress);
    sockets.push(socket);
    return socket;
  }

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    gate.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('closes a silent socket at the ClientHello deadline, and it never holds the only TLS slot', async () => {
    await start({ maxConcurrentTlsHandshakes: 1 });
    const started = Date.now();
    const silent = await held();
    // The only slot is free for a working client although a silent one arrived first.
    assert.ok(await tlsHandshake(port) < 500);
    const closed = await closedAfter(silent, started);
    assert.ok(closed >= 700 && closed < 1500, `silent socket closed after ${closed} ms`);
  });

  it('closes a socket that drips a partial ClientHello at the same deadline', async () => {
    await start({});
    const started = Date.now();
    const dripping = await held();
    dripping.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])); // promises 512 bytes, sends 2
    const closed = await closedAfter(dripping, started);
    assert.ok(closed >= 700 && closed < 1500, `partial ClientHello closed after ${closed} ms`);
  });

  it('closes at once a connection whose first byte is not TLS', async () => {
    await start({});
    const plain = await held();
    const started = Date.now();
    plain.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.ok(await closedAfter(plain, started) < 300);
  });

  it('a stalled handshake holds its slot for the slot timeout only, and is closed at the TLS deadline', async () => {
    await start({ maxConcurrentTlsHandshakes: 1, tlsSlotTimeoutMs: 300, tlsHandshakeTimeoutMs: 1500 });
    const hello = await captureClientHello();
    const started = Date.now();
    const stalled = await held();
    stalled.write(hello); // a whole ClientHello, then never the client's Finished
    await new Promise((r) => setTimeout(r, 50));
    const waited = await tlsHandshake(port);
    assert.ok(waited >= 200 && waited < 900, `second handshake waited ${waited} ms for the slot`);
    const closed = await closedAfter(stalled, started);
    assert.ok(closed >= 1400 && closed < 2500, `stalled handshake closed after ${closed} ms`);
  });

  it('resets connections beyond the per-address bound at once; another address still gets in', async () => {
    await start({ maxConnectionsPerAddress: 3 });
    for (let i = 0; i < 3; i++) await held('127.0.0.2');
    const started = Date.now();
    const fourth = await held('127.0.0.2').catch(() => undefined);
    if (fourth) assert.ok(await closedAfter(fourth, started) < 300, 'the fourth connection from one address is closed at once');
    assert.ok(sockets.slice(0, 3).every((s) => !s.destroyed), 'the first three stay');
    assert.ok(await tlsHandshake(port, '127.0.0.3') < 500);
    assert.equal(gate.counts.refusedPerAddress, 1);
  });

  it('at the global bound, a newcomer evicts the oldest socket without a ClientHello', async () => {
    await start({ maxConnections: 3 });
    const silent = [await held('127.0.0.4'), await held('127.0.0.5'), await held('127.0.0.6')];
    const started = Date.now();
    assert.ok(await tlsHandshake(port) < 500, 'the newcomer is served');
    assert.ok(await closedAfter(silent[0]!, started) < 300, 'the oldest silent socket made room');
    assert.ok(!silent[1]!.destroyed && !silent[2]!.destroyed);
    assert.equal(gate.counts.evicted, 1);
  });
});

describe('connection limits and source keys', () => {
  it('keys IPv4 (also mapped) by address and IPv6 by its /64', () => {
    assert.equal(addressKey('203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey(undefined), undefined);
  });

  it('fills defaults, refuses non-positive values and deadlines in an impossible order', () => {
    assert.equal(connectionLimits({}).maxConnectionsPerAddress, 256);
    assert.equal(connectionLimits({ headersTimeoutMs: 1000 }).headersTimeoutMs, 1000);
    assert.throws(() => connectionLimits({ maxConnections: 0 }), /PCG_ERR_CONFIG_INVALID|not a positive integer/);
    assert.throws(() => connectionLimits({ clientHelloTimeoutMs: 20_000 }), /must not exceed tls-handshake-timeout/);
    assert.throws(() => connectionLimits({ headersTimeoutMs: 40_000 }), /must not exceed request-timeout/);
  });
});
