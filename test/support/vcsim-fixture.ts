import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Secret } from '../../proto/secret.js';
import type { VcenterConnection } from '../../gateway/vsphere/vim-session.js';
import { Child } from './child.js';
import { waitFor } from './wait-for.js';

const BINARY = new URL('../../../.tmp/bin/vcsim-pcg', import.meta.url).pathname;

export interface VcsimModel {
  dc?: number; cluster?: number; clusterHost?: number; host?: number; vm?: number; pool?: number; ds?: number; pg?: number; template?: number;
}

/**
 * govmomi's simulator (built by `make deps` from Debian's source) on a free loopback port, with its
 * own certificate and exactly one user.
 */
export class Vcsim {
  private constructor(
    private readonly child: Child, readonly url: string, readonly thumbprint: string, readonly user: string, readonly password: string,
    /** Object counts from the simulator's own registry. */
    readonly counts: Record<string, number>,
    /** Its self-signed certificate (PEM), for tests that trust it as a CA file. */
    readonly certificate: string,
  ) {}

  static async start(model: VcsimModel = {}, password = 'Vcsim-Pa55!'): Promise<Vcsim> {
    if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing; run make deps`);
    const flags = Object.entries(model).flatMap(([k, v]) => [`-${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, String(v)]);
    const child = new Child(spawn(BINARY, ['-listen', '127.0.0.1:0', '-password', password, ...flags], { stdio: ['pipe', 'pipe', 'pipe'] }));
    const ready = await waitFor('vcsim ready', () => {
      if (child.exitCode !== null) throw new Error(`vcsim exited: ${child.stderr}`);
      const line = child.stdout.split('\n').find((l) => l.startsWith('{'));
      return line ? (JSON.parse(line) as { url: string; thumbprint: string; user: string; counts: Record<string, number>; certificate: string }) : undefined;
    }, 60_000);
    return new Vcsim(child, ready.url, ready.thumbprint, ready.user, password, ready.counts, ready.certificate);
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

  async stop(): Promise<void> {
    this.child.proc.stdin?.end();
    await this.child.stop();
  }
}
