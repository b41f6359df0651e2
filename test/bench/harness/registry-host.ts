/**
 * Bench child: the gateway's real HTTPS server with the embedded registry on it, in its own
 * process (port 0), so the orchestrator's client load and this process's RSS are measured apart.
 * argv: <stateDir>. Answers `info` over IPC with the URL, the CA and the admin credentials.
 * With PCG_BENCH_CPU_PROF=<dir> it profiles itself (node:inspector; --cpu-prof is not allowed in
 * NODE_OPTIONS) and `profile` writes <dir>/registry-host-<pid>.cpuprofile.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import pino from 'pino';
import { GatewayHttpsServer } from '../../../gateway/http/gateway-https-server.js';
import { NodeTokens } from '../../../gateway/nodes/node-tokens.js';
import { EmbeddedRegistry } from '../../../gateway/registry/embedded-registry.js';
import { systemClock } from '../../../proto/clock.js';
import { gc, serveIpc } from './ipc.js';

const [stateDir = ''] = process.argv.slice(2);
if (!stateDir) throw new Error('usage: registry-host.js <stateDir>');
const USER = 'admin';
const PASSWORD = 'bench horse battery staple';

const log = pino({ level: 'warn' });
const passwordFile = join(stateDir, 'registry-password');
writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
const tokens = await NodeTokens.load(stateDir);
const server = await GatewayHttpsServer.create({ host: '127.0.0.1', port: 0, publicUrl: null, certFile: null, keyFile: null, stateDir }, { clock: systemClock, log });
const registry = await EmbeddedRegistry.open({ stateDir, username: USER, passwordFile }, { app: server.app, clock: systemClock, log, readTokens: tokens });
await server.listen();

const profileDir = process.env.PCG_BENCH_CPU_PROF;
const inspector = profileDir ? new Session() : undefined;
if (inspector) {
  inspector.connect();
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.start');
}

serveIpc({
  info: () => ({ url: server.url, caPem: server.caPem, user: USER, password: PASSWORD, pid: process.pid }),
  /** RSS after a full GC: the idle baseline the streaming check subtracts. */
  memory: () => {
    gc();
    return process.memoryUsage();
  },
  /** Stops the CPU profile and writes it; the path, or null when not profiling. */
  profile: async () => {
    if (!inspector || !profileDir) return null;
    const { profile } = await inspector.post('Profiler.stop');
    const path = join(profileDir, `registry-host-${process.pid}.cpuprofile`);
    writeFileSync(path, JSON.stringify(profile));
    return path;
  },
  close: async () => {
    await server.close();
    await registry.close();
    return true;
  },
});
process.send?.({ id: -1, result: 'ready' });
