/**
 * Bench child: the real Relay class in its own process, driven over IPC so the orchestrator can
 * provision gateways, read memory after a full GC, and time echo round trips from the relay side.
 */
import { createServer } from 'node:https';
import pino from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { Relay } from '../../../saas-relay/relay.js';
import { gc, percentile, serveIpc } from './ipc.js';

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
  /** Sequential sealed round trips relay→gateway→relay through the first live session. */
  echo: async (msg) => {
    const { gatewayId, count, size } = msg as { gatewayId: string; count: number; size: number };
    const session = relay.hub.session(gatewayId);
    if (!session) throw new Error(`no session for ${gatewayId}`);
    const data = 'x'.repeat(size);
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const t = process.hrtime.bigint();
      await session.echo(data);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    return { p50: percentile(times, 50), p99: percentile(times, 99) };
  },
  /** A plain ws echo peer over TLS with the same certificate: the baseline for `echo`. */
  plainServer: async () => {
    const server = createServer({ key: relay.pki.serverKeyPem, cert: relay.pki.serverCertPem });
    const wss = new WebSocketServer({ server, perMessageDeflate: false });
    wss.on('connection', (ws) => (plainClient = ws));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as { port: number }).port;
  },
  plainEcho: async (msg) => {
    const { count, size } = msg as { count: number; size: number };
    const ws = plainClient;
    if (!ws) throw new Error('no plain client connected');
    const data = 'x'.repeat(size);
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const t = process.hrtime.bigint();
      await new Promise<void>((resolve) => {
        ws.once('message', () => resolve());
        ws.send(JSON.stringify({ type: 'echo', id: i, data }));
      });
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    return { p50: percentile(times, 50), p99: percentile(times, 99) };
  },
});
process.send?.({ id: -1, result: 'ready' });
