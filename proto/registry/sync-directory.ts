import { open } from 'node:fs/promises';

/** fsync of a directory: without it a rename into it may not survive a power loss. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
