import { Transform, type TransformCallback } from 'node:stream';

export interface ProgressOptions {
  /** Where the bar goes. @default process.stderr */
  readonly out?: NodeJS.WriteStream;
  /** Least time between two redraws, in ms. @default 100 */
  readonly intervalMs?: number;
}

/**
 * Counts bytes through it and draws `label [#####-----]  45%  1.2/2.6 MiB` on a terminal. Off a
 * terminal (CI logs, pipes) it draws nothing: the command prints plain lines before and after.
 */
export function progressBar(total: number, label: string, options: ProgressOptions = {}): Transform {
  const out = options.out ?? process.stderr;
  const interval = options.intervalMs ?? 100;
  const tty = out.isTTY === true;
  let sent = 0;
  let drawn = 0;
  const draw = () => {
    const fraction = total > 0 ? Math.min(1, sent / total) : 1;
    const width = 30;
    const filled = Math.round(fraction * width);
    out.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%  ${mib(sent)}/${mib(total)} MiB`);
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      sent += chunk.length;
      const now = Date.now();
      if (tty && now - drawn >= interval) {
        drawn = now;
        draw();
      }
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      if (tty) {
        draw();
        out.write('\n');
      }
      done();
    },
  });
}

const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
