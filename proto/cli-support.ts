import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PcgError } from './errors.js';

/** Flag parsing shared by the CLIs: unknown flags and missing values become PCG_ERR_CONFIG_INVALID. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>>['values'] {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', (err as Error).message.split('\n')[0]);
  }
}

export function requireFlag(value: string | undefined, flag: string): string {
  if (!value) throw new PcgError('PCG_ERR_CONFIG_INVALID', `--${flag} is required`);
  return value;
}

/** Prints `CODE: message` on stderr and exits non-zero; the only place a CLI turns errors into exits. */
export function exitWithError(err: unknown): never {
  if (err instanceof PcgError) {
    process.stderr.write(`${err.toString()}\n`);
    process.exit(err.code === 'PCG_ERR_CONFIG_INVALID' ? 2 : 1);
  }
  process.stderr.write(`PCG_ERR_INTERNAL: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
}
