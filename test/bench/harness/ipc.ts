import { fork, type ChildProcess } from 'node:child_process';

/** Request/response over a forked child's IPC channel: one message out, the matching reply back. */
export class IpcPeer {
  #next = 0;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly exited: Promise<number | null>;

  private constructor(readonly proc: ChildProcess) {
    proc.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (m.error !== undefined) p?.reject(new Error(m.error));
      else p?.resolve(m.result);
    });
    this.exited = new Promise((resolve) => proc.once('exit', (code) => {
      for (const p of this.#pending.values()) p.reject(new Error(`child exited with ${code}`));
      resolve(code);
    }));
  }

  /** Forks the child and resolves once it has said it is ready. */
  static async start(script: string, args: string[] = []): Promise<IpcPeer> {
    const proc = fork(script, args, { execArgv: ['--expose-gc', '--max-old-space-size=8192'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const peer = new IpcPeer(proc);
    await new Promise<void>((resolve, reject) => {
      proc.on('message', (m: { id: number }) => m.id === -1 && resolve());
      proc.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
    });
    return peer;
  }

  call<T>(type: string, payload: Record<string, unknown> = {}): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, type, ...payload });
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill(signal);
    await this.exited;
  }
}

/** The child side: dispatches typed requests to handlers and sends back results or errors. */
export function serveIpc(handlers: Record<string, (msg: Record<string, unknown>) => unknown>): void {
  process.on('message', (msg: { id: number; type: string } & Record<string, unknown>) => {
    // A clean exit on request, so --cpu-prof and friends get to write their files.
    if (msg.type === 'exit') process.exit(0);
    const handler = handlers[msg.type];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`no handler for ${msg.type}`);
        return handler(msg);
      })
      .then((result) => process.send?.({ id: msg.id, result }), (err: unknown) => process.send?.({ id: msg.id, error: err instanceof Error ? err.stack ?? err.message : String(err) }));
  });
}

export function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  collect?.();
  collect?.();
}
