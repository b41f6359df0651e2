import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory under the system temp dir; `remove()` is idempotent. */
export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `pcg-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
