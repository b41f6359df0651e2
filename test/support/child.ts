import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './wait-for.js';

// The binaries of the same build as the tests (dist/ normally; any --outDir alike).
const OUT = new URL('../../', import.meta.url).pathname;
export const RELAY_CLI = `${OUT}saas-relay/cli.js`;
export const GATEWAY_CLI = `${OUT}gateway/cli.js`;
export const INSTALLER_CLI = `${OUT}installer-ova/cli.js`;

/** A child process whose output is kept, with helpers to wait for lines and for its exit. */
export class Child {
  stdout = '';
  stderr = '';
  exitCode: number | null = null;
  signal: NodeJS.Signals | null = null;
  readonly exited: Promise<number | null>;

  constructor(readonly proc: ChildProcess) {
    proc.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => {
      this.exitCode = code;
      this.signal = signal;
      resolve(code);
    }));
  }

  static node(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
    return new Child(spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  /** JSON log lines on stdout. */
  get logLines(): Array<Record<string, unknown>> {
    return this.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  waitForLog(msg: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    return waitFor(`log "${msg}"`, () => {
      if (this.exitCode !== null) throw new Error(`process exited ${this.exitCode}: ${this.stderr}`);
      return this.logLines.find((l) => l.msg === msg);
    }, timeoutMs);
  }

  async stop(): Promise<void> {
    if (this.exitCode !== null || this.signal !== null) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }

  async kill9(): Promise<void> {
    if (this.exitCode !== null || this.signal !== null) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }
}

/** Runs a CLI to completion. */
export async function runCli(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = Child.node(script, args, env);
  const code = await child.exited;
  return { code, stdout: child.stdout, stderr: child.stderr };
}
