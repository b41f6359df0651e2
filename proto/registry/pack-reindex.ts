/**
 * Rebuilds the pack index from the content store: every `packs/<name>` repository, every version
 * tag whose manifest is a pack (pack-artifact.ts) with a pack.json that passes the schema, then the
 * label and parent tags that point at one of those manifests. Run when `packs.db` is missing
 * (first start, a deleted or lost index); readStoredPack alone, for one name, after a manifest
 * of `packs/<name>` was pushed or deleted over the OCI API (PackRegistry.reindexPack).
 *
 * Manifests that are not packs, and pack.json that no longer passes the schema, are skipped: the
 * index lists what the native API can serve, the store keeps whatever OCI clients pushed.
 */
import { PackError } from '../packs/pack-error.js';
import { checkPackManifest } from '../packs/pack-manifest.js';
import type { ContentStore, Digest } from './content-store.js';
import { packNameOf, packRepository, parsePackManifest } from './pack-artifact.js';
import type { PackIndex, PackIndexEntry } from './pack-index.js';
import { tagKind, versionOfTag } from './pack-tags.js';

const PAGE = 1000;

/** One pack name as the store holds it: its versions and the tags that point at one of them. */
export interface StoredPack {
  readonly entries: readonly PackIndexEntry[];
  readonly tags: readonly { readonly name: string; readonly tag: string; readonly version: string }[];
}

/** Rebuilds `index` from `store`; returns the number of versions indexed. */
export async function rebuildPackIndex(store: ContentStore, index: PackIndex): Promise<number> {
  const entries: PackIndexEntry[] = [];
  const tags: { name: string; tag: string; version: string }[] = [];
  for await (const repo of paged((last) => store.listRepositories({ n: PAGE, ...(last ? { last } : {}) }))) {
    const name = packNameOf(repo);
    if (name === undefined) continue;
    const pack = await readStoredPack(store, name);
    entries.push(...pack.entries);
    tags.push(...pack.tags);
  }
  index.replaceAll(entries, tags);
  return entries.length;
}

/** Reads one pack name from the store: every version tag that is a pack, then the tags pointing at those. */
export async function readStoredPack(store: ContentStore, name: string): Promise<StoredPack> {
  const repo = packRepository(name);
  const entries: PackIndexEntry[] = [];
  const tags: { name: string; tag: string; version: string }[] = [];
  const all: string[] = [];
  for await (const tag of paged((last) => store.listTags(repo, { n: PAGE, ...(last ? { last } : {}) }))) all.push(tag);
  const versionByManifest = new Map<Digest, string>();
  for (const tag of all.filter((t) => tagKind(t) === 'version')) {
    const entry = await readVersion(store, name, tag);
    if (!entry) continue;
    entries.push(entry);
    versionByManifest.set(entry.manifestDigest, entry.version);
    tags.push({ name, tag, version: entry.version });
  }
  for (const tag of all.filter((t) => tagKind(t) !== 'version')) {
    const manifest = await store.getManifest(repo, tag);
    const version = manifest && versionByManifest.get(manifest.digest);
    if (version !== undefined) tags.push({ name, tag, version });
  }
  return { entries, tags };
}

async function readVersion(store: ContentStore, name: string, tag: string): Promise<PackIndexEntry | undefined> {
  const repo = packRepository(name);
  const stored = await store.getManifest(repo, tag);
  const artifact = stored && parsePackManifest(stored.bytes);
  if (!stored || !artifact) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of store.readBlob(repo, artifact.config.digest)) chunks.push(chunk as Buffer);
  let manifest;
  try {
    manifest = checkPackManifest(JSON.parse(Buffer.concat(chunks).toString('utf8')));
  } catch (err) {
    if (err instanceof PackError || err instanceof SyntaxError) return undefined;
    throw err;
  }
  if (manifest.name !== name || manifest.version !== versionOfTag(tag)) return undefined;
  return {
    name, version: manifest.version, displayName: manifest.displayName, layer: manifest.layer, cloudTypes: manifest.cloudTypes,
    addonType: manifest.addonType ?? null, manifestDigest: stored.digest, archiveDigest: artifact.archive.digest,
    archiveSize: artifact.archive.size, message: artifact.message,
  };
}

/** Walks an `n`/`last` paginated listing to its end. */
async function* paged(page: (last: string | undefined) => Promise<string[]>): AsyncGenerator<string> {
  let last: string | undefined;
  for (;;) {
    const items = await page(last);
    yield* items;
    if (items.length < PAGE) return;
    last = items[items.length - 1];
  }
}
