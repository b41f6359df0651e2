import { spawn } from 'node:child_process';
import { PcgError } from '../../proto/errors.js';

export interface RunToolOptions {
  /** Bytes written to the tool's stdin. */
  readonly input?: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Kill the tool after this long. @default none */
  readonly timeoutMs?: number;
}

/**
 * Runs a Debian tool to completion and returns its stdout. A non-zero exit is PCG_ERR_INTERNAL
 * naming the command and the tail of its stderr, which is where these tools say what went wrong.
 */
export function runTool(command: string, args: readonly string[], options: RunToolOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd, env: options.env ?? process.env, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(options.timeoutMs ? { timeout: options.timeoutMs, killSignal: 'SIGKILL' as const } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', (err) => reject(new PcgError('PCG_ERR_INTERNAL', `${command}: ${err.message} (is its Debian package installed? make deps)`, { cause: err })));
    child.once('close', (code, signal) => {
      if (code === 0) return resolve(stdout);
      const tail = (stderr || stdout).trim().split('\n').slice(-15).join('\n');
      reject(new PcgError('PCG_ERR_INTERNAL', `${command} ${args.slice(0, 3).join(' ')}… exited ${code ?? signal}:\n${tail}`));
    });
    if (options.input !== undefined && child.stdin) {
      // A tool that exits without reading its input fails by its exit code, not by EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
  });
}
