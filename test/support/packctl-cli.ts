/** Runs the real packctl binary of this build as a child process, with its own config dir and stdin. */
import { spawn } from 'node:child_process';

const OUT = new URL('../../', import.meta.url).pathname;
export const PACKCTL_CLI = `${OUT}gateway/packctl/cli.js`;

export interface PackctlResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runPackctl(args: readonly string[], options: { readonly configHome: string; readonly input?: string; readonly cwd?: string }): Promise<PackctlResult> {
  const child = spawn(process.execPath, [PACKCTL_CLI, ...args], {
    env: { ...process.env, XDG_CONFIG_HOME: options.configHome, HOME: options.configHome },
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
