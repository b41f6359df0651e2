/**
 * Bench child: the real Relay class in its own process, driven over IPC so the orchestrator can
 * provision gateways, read memory after a full GC, and time echo round trips from the relay side.
 */
import { echo } from '../../../saas-relay/tunnel/handlers/echo-handlers.js';
import { createServer } from 'node:https';
import pino from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { Relay } from '../../../saas-relay/relay.js';
import { gc, serveIpc } from './ipc.js';
import { percentile } from './report.js';

const [dataDir = '', port = '0', optionsJson = '{}'] = process.argv.slice(2);
const relay = await Relay.create({ dataDir, listen: `127.0.0.1:${port}`, logger: pino({ level: 'warn' }), ...(JSON.parse(optionsJson) as object) });
let plainClient: WebSocket | undefined;

serveIpc({
  info: () => ({ url: relay.url, caPin: relay.pki.caPin, port: relay.port, caCert: relay.pki.ca.certPem }),
  provision: async (msg) => {
    const count = msg.count as number;
    const tenant = await relay.tenancy.createTenant(`bench-${Date.now()}`);
    const { PairingCodes } = await import('../../../saas-relay/pairing/pairing-codes.js');
    const { SecretHasher } = await import('../../../saas-relay/security/secret-hasher.js');
    const codes = new PairingCodes(relay.database.db, new SecretHasher(relay.pki.hashKey), relay.options.clock, 3_600_000);
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const gw = await relay.gateways.create(tenant.tenantId, `bench-${i}`);
      out.push((await codes.issue(tenant.tenantId, gw.id)).code.reveal());
    }
    return out;
  },
  memory: () => {
    gc();
    return { ...process.memoryUsage(), sessions: relay.hub.sessionCount };
  },
  sessions: () => relay.hub.sessionCount,
  /** CPU time this process has used (user + system, µs): relay cost per handshake, whatever the wall clock. */
  cpu: () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  },
  /**
   * Sealed round trips relay→gateway→relay, each immediately followed by a plain ws echo of the
   * same payload over TLS between the same two processes, so background load (heartbeats of the
   * idle tunnels, GC) falls on both alike.
   */
  echo: async (msg) => {
    const { gatewayId, count, size } = msg as { gatewayId: string; count: number; size: number };
    const session = relay.hub.session(gatewayId);
    const ws = plainClient;
    if (!session || !ws) throw new Error('need a live session and a connected plain client');
    const data = 'x'.repeat(size);
    const sealed: number[] = [];
    const plain: number[] = [];
    const time = async (run: () => Promise<unknown>): Promise<number> => {
      const t = process.hrtime.bigint();
      await run();
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    for (let i = 0; i < count; i++) {
      sealed.push(await time(() => echo(session, data)));
      plain.push(await time(() => new Promise<void>((resolve) => {
        ws.once('message', () => resolve());
        ws.send(JSON.stringify({ type: 'echo', id: i, data }));
      })));
    }
    sealed.sort((a, b) => a - b);
    plain.sort((a, b) => a - b);
    return { sealed: { p50: percentile(sealed, 50), p99: percentile(sealed, 99) }, plain: { p50: percentile(plain, 50), p99: percentile(plain, 99) } };
  },
  /** A plain ws echo peer over TLS with the same certificate: the baseline for `echo`. */
  plainServer: async () => {
    const server = createServer({ key: relay.pki.serverKeyPem, cert: relay.pki.serverCertPem });
    const wss = new WebSocketServer({ server, perMessageDeflate: false });
    wss.on('connection', (ws) => (plainClient = ws));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as { port: number }).port;
  },
});
process.send?.({ id: -1, result: 'ready' });
