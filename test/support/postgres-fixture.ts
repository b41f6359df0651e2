import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import pg from 'pg';
import { Child } from './child.js';
import { freePort } from './relay-fixture.js';
import { tempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

function binDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  const found = versions.map((v) => `${base}/${v}/bin`).find((d) => existsSync(`${d}/initdb`));
  if (!found) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql; run make deps');
  return found;
}

/**
 * A throwaway PostgreSQL cluster from Debian's packages on a loopback port, run as the postgres
 * user when the tests run as root (postgres refuses root), removed by stop().
 */
export class PostgresServer {
  private constructor(private readonly child: Child, private readonly dir: { path: string; remove: () => void }, readonly port: number) {}

  static async start(): Promise<PostgresServer> {
    const bin = binDir();
    const dir = tempDir('pg');
    const asRoot = userInfo().uid === 0;
    const wrap = (cmd: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      chownSync(dir.path, uid, gid);
    }
    const data = `${dir.path}/data`;
    execFileSync(...wrap(`${bin}/initdb`, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']), { stdio: 'ignore' });
    const port = await freePort();
    const [cmd, args] = wrap(`${bin}/postgres`, ['-D', data, '-p', String(port), '-k', dir.path, '-h', '127.0.0.1',
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200']);
    const child = new Child(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    const server = new PostgresServer(child, dir, port);
    await waitFor('postgres to accept connections', async () => {
      if (child.exitCode !== null) throw new Error(`postgres exited: ${child.stderr}`);
      const client = new pg.Client({ connectionString: server.url('postgres') });
      await client.connect();
      await client.end();
      return true;
    }, 30_000, 100);
    return server;
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** A fresh, empty database; returns its URL. */
  async createDatabase(name: string): Promise<string> {
    const client = new pg.Client({ connectionString: this.url('postgres') });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE "${name}"`);
    } finally {
      await client.end();
    }
    return this.url(name);
  }

  /**
   * Fast shutdown, signalled to the postmaster itself (runuser does not pass SIGINT on). It first
   * waits (up to 2 s) for clients that are hanging up: pg's pool.end() resolves before its sockets
   * are closed, and a client told "terminating connection" while ending throws out of nowhere.
   */
  async stop(): Promise<void> {
    await this.#drainClients(2000).catch(() => undefined);
    const pidFile = `${this.dir.path}/data/postmaster.pid`;
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : undefined;
    if (pid) process.kill(pid, 'SIGINT');
    else this.child.proc.kill('SIGINT');
    await this.child.exited;
    this.dir.remove();
  }

  async #drainClients(timeoutMs: number): Promise<void> {
    const admin = new pg.Client({ connectionString: this.url('postgres') });
    admin.on('error', () => undefined);
    await admin.connect();
    try {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const { rows } = await admin.query<{ n: number }>("select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()");
        if (rows[0]!.n === 0 || Date.now() > until) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await admin.end();
    }
  }
}
