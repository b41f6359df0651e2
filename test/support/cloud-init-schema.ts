import { AssertionError } from 'node:assert';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Child } from './child.js';
import { tempDir } from './temp-dir.js';

/** Debian's cloud-init: the same package, hence the same parser, a node image carries. */
const CLOUD_INIT = '/usr/bin/cloud-init';
const SYSTEM_PYTHON = '/usr/bin/python3';
// Not compiled: resolved in the source tree from dist-*/test/support.
const UNKNOWN_KEYS_PY = new URL('../../../test/fixtures/cloud-init/unknown_keys.py', import.meta.url).pathname;

async function run(command: string, args: string[]): Promise<{ code: number | null; stdout: string; output: string }> {
  // PATH pinned to the system: a pyenv python3 earlier on PATH has no cloudinit package.
  const child = new Child(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1' } }));
  const code = await child.exited;
  return { code, stdout: child.stdout, output: `${child.stdout}${child.stderr}`.trim() };
}

/**
 * Fails (AssertionError carrying cloud-init's own words) unless `text` is a #cloud-config that
 * `cloud-init schema --config-file` accepts and whose top-level keys cloud-init knows. The second
 * check exists because cloud-init 22.4's schema lets unknown top-level keys pass, and a misspelt
 * module key is silently skipped on the node (see unknown_keys.py).
 */
export async function assertValidCloudConfig(text: string): Promise<void> {
  const dir = tempDir('cloud-config');
  try {
    const file = join(dir.path, 'user-data');
    writeFileSync(file, text);
    const schema = await run(CLOUD_INIT, ['schema', '--config-file', file]);
    if (schema.code !== 0) {
      throw new AssertionError({ message: `cloud-init schema rejects the cloud-config (exit ${schema.code}):\n${schema.output}` });
    }
    const keys = await run(SYSTEM_PYTHON, [UNKNOWN_KEYS_PY, file]);
    if (keys.code !== 0) throw new Error(`unknown_keys.py failed (exit ${keys.code}): ${keys.output}`);
    const unknown = JSON.parse(keys.stdout) as string[];
    if (unknown.length > 0) {
      throw new AssertionError({ message: `cloud-config has top-level keys cloud-init does not know (a node would ignore them): ${unknown.join(', ')}` });
    }
  } finally {
    dir.remove();
  }
}
