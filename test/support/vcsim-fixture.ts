import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Secret } from '../../proto/secret.js';
import type { VcenterConnection } from '../../gateway/vsphere/vim-session.js';
import { Child } from './child.js';
import { tempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

const BINARY = new URL('../../../.tmp/bin/vcsim-pcg', import.meta.url).pathname;

export interface VcsimModel {
  dc?: number; cluster?: number; clusterHost?: number; host?: number; vm?: number; pool?: number; ds?: number; pg?: number; template?: number;
}

interface Ready { url: string; thumbprint: string; user: string; counts: Record<string, number>; certificate: string }

/**
 * govmomi's simulator (built by `make deps` from Debian's source) on a free loopback port, with its
 * own certificate and exactly one user. restart() brings it back on the same port with the same
 * certificate (kept in a temp dir) and a fresh inventory, as a vCenter restart looks to a client
 * that pinned the thumbprint (only vcsim forgets the VMs too).
 */
export class Vcsim {
  /** Starts so far: 1, then 2 after the first restart(). */
  starts = 1;

  private constructor(
    private child: Child,
    private readonly args: readonly string[],
    private readonly dir: { path: string; remove: () => void },
    readonly url: string, readonly thumbprint: string, readonly user: string, readonly password: string,
    /** Object counts from the simulator's own registry. */
    readonly counts: Record<string, number>,
    /** Its self-signed certificate (PEM), for tests that trust it as a CA file. */
    readonly certificate: string,
  ) {}

  static async start(model: VcsimModel = {}, password = 'Vcsim-Pa55!'): Promise<Vcsim> {
    if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing; run make deps`);
    const flags = Object.entries(model).flatMap(([k, v]) => [`-${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, String(v)]);
    const dir = tempDir('vcsim');
    const args = ['-password', password, '-tls-cert', join(dir.path, 'cert.pem'), '-tls-key', join(dir.path, 'key.pem'), ...flags];
    try {
      const { child, ready } = await Vcsim.#launch(['-listen', '127.0.0.1:0', ...args]);
      return new Vcsim(child, args, dir, ready.url, ready.thumbprint, ready.user, password, ready.counts, ready.certificate);
    } catch (err) {
      dir.remove();
      throw err;
    }
  }

  static async #launch(args: readonly string[]): Promise<{ child: Child; ready: Ready }> {
    const child = new Child(spawn(BINARY, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    try {
      const ready = await waitFor('vcsim ready', () => {
        if (child.exitCode !== null) throw new Error(`vcsim exited: ${child.stderr}`);
        const line = child.stdout.split('\n').find((l) => l.startsWith('{'));
        return line ? (JSON.parse(line) as Ready) : undefined;
      }, 60_000);
      return { child, ready };
    } catch (err) {
      await child.stop();
      throw err;
    }
  }

  /**
   * Stops the simulator and starts it again on the same address with the same certificate, user
   * and model: every session, task and object made since the start is gone. `downMs` keeps it
   * down that long in between (connections are refused meanwhile).
   */
  async restart(options: { downMs?: number } = {}): Promise<void> {
    await this.#stopChild();
    if (options.downMs) await new Promise((resolve) => setTimeout(resolve, options.downMs));
    const { child, ready } = await Vcsim.#launch(['-listen', this.host, ...this.args]);
    this.child = child;
    this.starts++;
    if (ready.url !== this.url || ready.thumbprint !== this.thumbprint) {
      await this.#stopChild();
      throw new Error(`vcsim came back as ${ready.url} ${ready.thumbprint}, not ${this.url} ${this.thumbprint}`);
    }
  }

  /** What VimSession.login() needs, pinned by thumbprint; `onRequest` sees every SOAP method sent. */
  connection(options: { password?: string; thumbprint?: string; onRequest?: (method: string) => void } = {}): VcenterConnection {
    return {
      host: this.host, user: this.user, password: new Secret(options.password ?? this.password),
      trust: { thumbprint: options.thumbprint ?? this.thumbprint }, ...(options.onRequest ? { onRequest: options.onRequest } : {}),
    };
  }

  /** host:port, as an admin would type it. */
  get host(): string {
    return new URL(this.url).host;
  }

  async #stopChild(): Promise<void> {
    this.child.proc.stdin?.end();
    await this.child.stop();
  }

  /** Idempotent. */
  async stop(): Promise<void> {
    await this.#stopChild();
    this.dir.remove();
  }
}
