import { createServer } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Child, RELAY_CLI, runCli } from './child.js';
import { tempDir } from './temp-dir.js';

export interface Tenant { tenantId: string; projectId: string; apiKey: string }

/** A real `pcg-relay serve` process on a loopback port. */
export class RelayProcess {
  private constructor(readonly child: Child, readonly dataDir: string, readonly url: string, readonly caPin: string, readonly port: number, readonly args: string[]) {}

  static async start(options: { dataDir?: string; port?: number; args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<RelayProcess> {
    const dataDir = options.dataDir ?? tempDir('relay').path;
    const args = options.args ?? [];
    const child = Child.node(RELAY_CLI, ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${options.port ?? 0}`, ...args], options.env);
    const line = await child.waitForLog('relay listening');
    const url = line.url as string;
    return new RelayProcess(child, dataDir, url, line.caPin as string, Number(new URL(url).port), args);
  }

  /** wss:// URL of the tunnel endpoint. */
  get tunnelUrl(): string {
    return `${this.url.replace(/^https:/, 'wss:')}/v1/tunnel`;
  }

  /** The SQLite store's files (database, WAL, shared memory) as latin1 text, to grep for secrets. */
  storeFiles(): Array<{ name: string; text: string }> {
    return readdirSync(this.dataDir).filter((n) => n.startsWith('relay.db'))
      .map((name) => ({ name, text: readFileSync(join(this.dataDir, name)).toString('latin1') }));
  }

  /** Everything the process printed. */
  get logs(): string {
    return this.child.stdout + this.child.stderr;
  }

  get caCert(): string {
    return readFileSync(join(this.dataDir, 'ca.crt'), 'utf8');
  }

  async createTenant(name: string): Promise<Tenant> {
    const out = await runCli(RELAY_CLI, ['admin', 'create-tenant', '--data-dir', this.dataDir, '--name', name]);
    if (out.code !== 0) throw new Error(`create-tenant failed: ${out.stderr}`);
    return JSON.parse(out.stdout) as Tenant;
  }

  /** Same data dir and port, as after a crash and restart. */
  restart(): Promise<RelayProcess> {
    return RelayProcess.start({ dataDir: this.dataDir, port: this.port, args: this.args });
  }

  stop(): Promise<void> {
    return this.child.stop();
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
