import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PcgError } from '../../proto/errors.js';
import { readPackArchive } from '../../proto/packs/pack-archive.js';
import type { PackPage, PackView } from './pack-view.js';
import { parsePackReference, packScope, withRegistry, type PackctlGlobals } from './packctl-context.js';
import type { RegistryClient } from './registry-client.js';

/**
 * `packctl pull NAME[:TAG|@DIGEST] [-o DIR]`: downloads the archive into DIR as NAME-VERSION.zip,
 * verified three ways before it gets its name: the bytes' sha256 against the digest the registry
 * announced (and the one asked for), then the pack checks (name and version included).
 * Without a tag: the newest release (the newest pre-release when there is none).
 */
export async function pullCommand(ref: string, options: { readonly output?: string }, globals: PackctlGlobals): Promise<void> {
  const { name, reference } = parsePackReference(ref);
  const dir = resolve(options.output ?? '.');
  await mkdir(dir, { recursive: true });
  await withRegistry(globals, [packScope(name, 'pull')], async (client) => {
    const version = reference ?? (await newestVersion(client, name));
    const pack = await client.json<PackView>('GET', `/v1/packs/${name}/${encodeURIComponent(version)}`);
    if (reference?.startsWith('sha256:') && reference !== pack.digest && reference !== pack.manifestDigest) {
      throw new PcgError('PCG_ERR_NOT_FOUND', `${name}@${reference} resolved to ${pack.digest}`);
    }
    const partial = join(dir, `.${name}-${pack.version}.zip.partial-${process.pid}`);
    const file = join(dir, `${name}-${pack.version}.zip`);
    try {
      const response = await client.request('GET', `/v1/packs/${name}/${encodeURIComponent(pack.version)}/archive`);
      const hash = createHash('sha256');
      await pipeline(response.body, new Transform({ transform(chunk: Buffer, _e, done) { hash.update(chunk); done(null, chunk); } }), createWriteStream(partial, { mode: 0o644 }));
      const digest = `sha256:${hash.digest('hex')}`;
      const announced = response.headers['docker-content-digest'];
      if (digest !== pack.digest || (announced !== undefined && announced !== digest)) {
        throw new PcgError('PCG_ERR_PACK_ARCHIVE', `the download of ${name}:${pack.version} has digest ${digest}, the registry announced ${pack.digest}`);
      }
      await readPackArchive({ path: partial }, { expected: { name, version: pack.version } });
      await rename(partial, file);
    } finally {
      await rm(partial, { force: true });
    }
    process.stdout.write(`pulled ${name}:${pack.version} ${pack.digest} -> ${file}\n`);
  });
}

async function newestVersion(client: RegistryClient, name: string): Promise<string> {
  const versions: string[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ name, limit: '1000', ...(cursor ? { cursor } : {}) });
    const page: PackPage = await client.json<PackPage>('GET', `/v1/packs?${query.toString()}`);
    versions.push(...page.items.map((i) => i.version));
    cursor = page.nextCursor;
  } while (cursor);
  // The API lists in semver order: the last release, else the last of all.
  const newest = versions.filter((v) => !v.includes('-')).pop() ?? versions.pop();
  if (newest === undefined) throw new PcgError('PCG_ERR_NOT_FOUND', `no pack named ${name}`);
  return newest;
}
