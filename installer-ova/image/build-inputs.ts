import { createHash, type Hash } from 'node:crypto';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';

/**
 * Content digests of the build's inputs, so `make ova` rebuilds only what changed: `make build`
 * rewrites dist/ on every run, so timestamps say nothing; contents do.
 */
export class InputDigest {
  private readonly hash: Hash = createHash('sha256');

  /** A fixed value: package lists, options, versions. */
  text(label: string, value: string): this {
    this.hash.update(`${label}\0${value}\0`);
    return this;
  }

  async file(path: string): Promise<this> {
    this.hash.update(`file\0${path}\0`).update(await readFile(path));
    return this;
  }

  /** Every file under `dir` (names and contents, sorted), skipping top-level entries in `skip`. */
  async tree(dir: string, skip: readonly string[] = []): Promise<this> {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    const files = entries
      .map((e) => ({ e, rel: relative(dir, join(e.parentPath, e.name)) }))
      .filter(({ rel }) => !skip.includes(rel.split('/')[0]!))
      .sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
    for (const { e, rel } of files) {
      if (e.isFile()) this.hash.update(`f\0${rel}\0`).update(await readFile(join(dir, rel)));
      else if (e.isSymbolicLink()) this.hash.update(`l\0${rel}\0${await readlink(join(dir, rel))}\0`);
    }
    return this;
  }

  /** 16 hex digits: enough to name cache directories apart. */
  short(): string {
    return this.hash.copy().digest('hex').slice(0, 16);
  }

  hex(): string {
    return this.hash.copy().digest('hex');
  }
}
