/**
 * Bench child: many gateways in one process, each with the real client code (pairGateway,
 * TunnelClient), so the relay sees real handshakes, certificates and sealed heartbeats.
 */
import { join } from 'node:path';
import pino from 'pino';
import WebSocket from 'ws';
import { systemClock } from '../../../proto/clock.js';
import { Secret } from '../../../proto/secret.js';
import { IdentityStore } from '../../../gateway/identity/identity-store.js';
import { pairGateway } from '../../../gateway/pairing/pair-gateway.js';
import { gatewayFeatures } from '../../../gateway/daemon/gateway-features.js';
import { TunnelClient } from '../../../gateway/tunnel/tunnel-client.js';
import { cheapJobFeature } from './cheap-job-feature.js';
import { serveIpc } from './ipc.js';

const log = pino({ level: 'silent' });
let clients: TunnelClient[] = [];
const prepared: TunnelClient[] = [];
let plain: WebSocket | undefined;
const plainSockets: WebSocket[] = [];
/** Job id → when this swarm first acknowledged it (dispatch bench). */
const jobAcks = new Map<string, number>();

async function pool<T>(items: T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i]!, i);
    }
  }));
}

serveIpc({
  pair: async (msg) => {
    const { relayUrl, caPin, codes, baseDir, concurrency } = msg as { relayUrl: string; caPin: string; codes: string[]; baseDir: string; concurrency: number };
    const started = performance.now();
    const ids: string[] = [];
    await pool(codes, concurrency, async (code, i) => {
      const record = await pairGateway({
        stateDir: join(baseDir, `gw-${i}`), relayUrl, code: new Secret(code), caPin, caFile: null, proxy: {}, timeoutMs: 60_000, clock: systemClock, log,
      });
      ids[i] = record.gatewayId;
    });
    return { ms: performance.now() - started, ids };
  },
  /** Loads identities and prepares clients (TLS contexts, keys): what a real gateway has ready before it dials. */
  prepare: async (msg) => {
    const { baseDir, from, to, backoffMaxMs, cheapJobs } = msg as { baseDir: string; from: number; to: number; backoffMaxMs: number; cheapJobs?: boolean };
    for (let i = from; i < to; i++) {
      const identityStore = new IdentityStore(join(baseDir, `gw-${i}`));
      const identity = await identityStore.load();
      // The daemon's own feature set (without vCenter): what a real gateway registers.
      const client: TunnelClient = TunnelClient.create(identity, {
        backoff: { initialMs: 500, maxMs: backoffMaxMs, floorMs: 100 }, connectTimeoutMs: 60_000, proxy: {}, version: 'bench',
      }, { clock: systemClock, log, reportStatus: () => undefined },
      [...gatewayFeatures({ identity, identityStore, vcenter: undefined, tunnel: () => client, clock: systemClock, log }), ...(cheapJobs ? [cheapJobFeature(jobAcks)] : [])]);
      prepared.push(client);
    }
    return prepared.length;
  },
  /** Every prepared client dials at once. */
  start: () => {
    for (const client of prepared.splice(0)) clients.push(client.start());
    return clients.length;
  },
  online: () => clients.filter((c) => c.state === 'online').length,
  /** [job id, first ack time] of every job acknowledged so far (dispatch bench). */
  jobAcks: () => [...jobAcks],
  /** Stops every client; they stay prepared and can be started again. */
  stop: async () => {
    await Promise.all(clients.map((c) => c.stop()));
    clients = [];
    return true;
  },
  /** Baseline storm: `count` bare wss connections at once (TLS + upgrade, no PCG handshake). */
  plainStorm: async (msg) => {
    const { port, caCert, count } = msg as { port: number; caCert: string; count: number };
    const started = performance.now();
    const sockets = await Promise.all(Array.from({ length: count }, () => new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${port}/`, { ca: caCert, perMessageDeflate: false });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    })));
    const ms = performance.now() - started;
    plainSockets.push(...sockets);
    return ms;
  },
  plainClose: () => {
    for (const ws of plainSockets.splice(0)) ws.terminate();
    return true;
  },
  plainConnect: async (msg) => {
    plain = new WebSocket(`wss://127.0.0.1:${msg.port as number}/`, { ca: msg.caCert as string, perMessageDeflate: false });
    plain.on('message', (data) => plain?.send(data));
    await new Promise((resolve, reject) => {
      plain!.once('open', resolve);
      plain!.once('error', reject);
    });
    return true;
  },
});
process.send?.({ id: -1, result: 'ready' });
