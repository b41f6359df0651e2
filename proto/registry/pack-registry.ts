/**
 * Packs on top of the content store: upload (checked before anything is stored), lookup by
 * version, tag or digest, download, delete, label tags and the parent tags the registry keeps.
 * What the native API (pack-routes.ts) and packctl see; the OCI face reads the same repositories.
 *
 * Writes to one pack name are serialised (a promise chain per name): parent tags are computed from
 * the set of versions, so two uploads of 14.4.1 and 14.4.3 racing must not both decide `14.4.x`.
 * Order of every write: blobs → manifest → tags in the store, then the index; a crash in between
 * leaves the store ahead of the index, which reindex() (run when packs.db is missing) repairs.
 */
import { createReadStream, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PcgError } from '../errors.js';
import { readPackArchive, type PackArchive } from '../packs/pack-archive.js';
import type { ExpectedPack } from '../packs/pack-content.js';
import { parsePackLimits, type PackLimits } from '../packs/pack-limits.js';
import type { PackManifest } from '../packs/pack-manifest.js';
import { OCI_MANIFEST_MEDIA_TYPE, type ContentStore } from './content-store.js';
import { packManifestBytes, packNameOf, packRepository, sha256Digest } from './pack-artifact.js';
import { PackIndex, type PackIndexEntry, type PackListPage, type PackListQuery, type PackTag } from './pack-index.js';
import { readStoredPack, rebuildPackIndex } from './pack-reindex.js';
import { spoolToFile } from './pack-spool.js';
import { labelTag, parentTags, splitLabelTag, tagKind, versionOfTag, versionTag } from './pack-tags.js';

export interface PackRegistryOptions {
  /** Holds `packs.db` (the index) and `pack-uploads/` (archives being checked). Created if missing. */
  readonly dir: string;
  /** Archive limits for uploads; see PackLimits for each default. @default DEFAULT_PACK_LIMITS */
  readonly limits?: PackLimits;
}

export interface PackUploadOptions {
  /** Replace a version that exists with other bytes (else PCG_ERR_CONFLICT). @default false */
  readonly force?: boolean;
  /** Kept with the version (the manifest's `io.pcg.pack.message` annotation). @default null */
  readonly message?: string | null;
  /** Name and version the uploader expects the pack to declare. @default {} */
  readonly expected?: ExpectedPack;
}

/** A pack version with its pack.json and every tag pointing at it. */
export interface PackDetails extends PackIndexEntry {
  readonly manifest: PackManifest;
  readonly tags: readonly string[];
}

export type PackUploadSource = { readonly path: string } | { readonly stream: AsyncIterable<Buffer | Uint8Array> | NodeJS.ReadableStream };

export class PackRegistry {
  readonly #locks = new Map<string, Promise<void>>();
  #closed = false;

  private constructor(private readonly store: ContentStore, private readonly index: PackIndex,
    private readonly limits: Readonly<Required<PackLimits>>, private readonly uploadDir: string) {}

  /** Opens the index in `options.dir`, rebuilding it from the store when the file is missing. */
  static async create(store: ContentStore, options: PackRegistryOptions): Promise<PackRegistry> {
    const limits = parsePackLimits(options.limits);
    const file = join(options.dir, 'packs.db');
    const fresh = !existsSync(file);
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    const index = PackIndex.open(file);
    const registry = new PackRegistry(store, index, limits, join(options.dir, 'pack-uploads'));
    try {
      if (fresh) await registry.reindex();
    } catch (err) {
      index.close();
      throw err;
    }
    return registry;
  }

  /** Rebuilds the index from the store (every `packs/*` repository); returns the versions found. */
  async reindex(): Promise<number> {
    return rebuildPackIndex(this.store, this.index);
  }

  /**
   * Brings one pack name's index rows in line with the store after its repository changed behind
   * the registry's back (an OCI push or delete under `packs/<name>`: skopeo, oras): versions and
   * tags as the store now holds them, then the parent tags moved to match. Under the name's lock,
   * so it neither interleaves with an upload of the same name nor with another OCI change; other
   * repositories are not packs and are ignored. The listing (and the gateway's next index report,
   * which polls packs.db) shows the change once this resolves.
   */
  async reindexPack(repository: string): Promise<void> {
    const name = packNameOf(repository);
    if (name === undefined || this.#closed) return;
    await this.#locked(name, async () => {
      const stored = await readStoredPack(this.store, name);
      const versions = new Set(stored.entries.map((e) => e.version));
      for (const version of this.index.versions(name)) if (!versions.has(version)) this.index.remove(name, version);
      for (const entry of stored.entries) this.index.put(entry);
      const tags = new Set(stored.tags.map((t) => t.tag));
      for (const { tag } of this.index.tags(name)) if (!tags.has(tag)) this.index.removeTag(name, tag);
      for (const t of stored.tags) this.index.setTag(name, t.tag, t.version);
      await this.#refreshParents(name);
    });
  }

  /**
   * Checks and stores a pack. Nothing reaches the store unless readPackArchive accepts the whole
   * archive. The same bytes uploaded again are a no-op (`created: false`).
   */
  async upload(source: PackUploadSource, options: PackUploadOptions = {}): Promise<{ pack: PackDetails; created: boolean }> {
    const spooled = 'path' in source ? undefined : await spoolToFile(source.stream, this.uploadDir, this.limits.maxArchiveBytes);
    const path = spooled?.path ?? (source as { path: string }).path;
    try {
      const archive = await readPackArchive({ path }, { limits: this.limits, ...(options.expected ? { expected: options.expected } : {}) });
      const { name, version } = archive.manifest;
      return await this.#locked(name, async () => {
        const existing = this.index.get(name, version);
        if (existing?.archiveDigest === archive.digest) return { pack: await this.#details(existing), created: false };
        if (existing && options.force !== true) {
          throw new PcgError('PCG_ERR_CONFLICT', `${name}:${version} exists with other content (${existing.archiveDigest}); push with --force to replace it`);
        }
        const entry = await this.#store(path, archive, options.message ?? null);
        if (existing) await this.#replaced(existing, entry);
        this.index.put(entry);
        this.index.setTag(name, versionTag(version), version);
        await this.#refreshParents(name, existing ? version : undefined);
        return { pack: await this.#details(entry), created: true };
      });
    } finally {
      await spooled?.remove();
    }
  }

  /** A version by version, tag (`14.x`, `lts__14.4.3`) or digest (manifest or archive). */
  async get(name: string, reference: string): Promise<PackDetails> {
    return this.#details(this.resolve(name, reference));
  }

  resolve(name: string, reference: string): PackIndexEntry {
    const entry = reference.startsWith('sha256:')
      ? this.index.byDigest(name, reference)
      : this.index.get(name, reference) ?? this.#byTag(name, reference);
    if (!entry) throw new PcgError('PCG_ERR_NOT_FOUND', `no pack ${name} ${reference.startsWith('sha256:') ? '@' : ':'}${reference}`);
    return entry;
  }

  /** The archive exactly as uploaded. */
  openArchive(entry: PackIndexEntry): Readable {
    return this.store.readBlob(packRepository(entry.name), entry.archiveDigest);
  }

  list(query: PackListQuery = {}): PackListPage {
    return this.index.list(query);
  }

  tagsOf(name: string, version?: string): PackTag[] {
    return this.index.tags(name, version);
  }

  /** Removes a version, its tags, and moves the parent tags that pointed at it. */
  async delete(name: string, version: string): Promise<void> {
    await this.#locked(name, async () => {
      const entry = this.index.get(name, version);
      if (!entry) throw new PcgError('PCG_ERR_NOT_FOUND', `no pack ${name}:${version}`);
      const repo = packRepository(name);
      for (const { tag } of this.index.tags(name, version)) await this.store.deleteTag(repo, tag);
      await this.store.deleteManifest(repo, entry.manifestDigest);
      this.index.remove(name, version);
      await this.#refreshParents(name);
    });
  }

  getTag(name: string, tag: string): PackTag {
    const found = this.index.tag(name, tag);
    if (!found) throw new PcgError('PCG_ERR_NOT_FOUND', `no tag ${name}:${tag}`);
    return found;
  }

  /** Points a label tag (`group__label` or a bare label) at a version; creates or moves it. */
  async setLabel(name: string, tag: string, reference: string): Promise<PackTag> {
    const { group, label } = splitLabelTag(tag);
    labelTag(label, group ?? undefined);
    return this.#locked(name, async () => {
      const entry = this.resolve(name, reference);
      const repo = packRepository(name);
      await this.#pointTag(repo, tag, entry);
      this.index.setTag(name, tag, entry.version);
      return { tag, version: entry.version, kind: 'label' as const };
    });
  }

  /** Deletes a label; version and parent tags are the registry's (PCG_ERR_PACK_TAG_RESERVED). */
  async deleteTag(name: string, tag: string): Promise<void> {
    const kind = tagKind(tag);
    if (kind !== 'label') {
      throw new PcgError('PCG_ERR_PACK_TAG_RESERVED', `${name}:${tag} is a ${kind} tag; ${kind === 'parent' ? 'it moves by itself when versions are pushed or deleted' : `delete the version with 'packctl rm ${name}:${versionOfTag(tag) ?? tag}'`}`);
    }
    await this.#locked(name, async () => {
      if (!this.index.tag(name, tag)) throw new PcgError('PCG_ERR_NOT_FOUND', `no tag ${name}:${tag}`);
      await this.store.deleteTag(packRepository(name), tag);
      this.index.removeTag(name, tag);
    });
  }

  /** Closes the index (the store belongs to the caller). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.index.close();
  }

  #byTag(name: string, tag: string): PackIndexEntry | undefined {
    const found = this.index.tag(name, tag);
    return found && this.index.get(name, found.version);
  }

  async #details(entry: PackIndexEntry): Promise<PackDetails> {
    const manifest = await this.#packJson(entry);
    const tags = this.index.tags(entry.name, entry.version).filter((t) => t.kind !== 'version').map((t) => t.tag);
    return { ...entry, manifest, tags };
  }

  async #packJson(entry: PackIndexEntry): Promise<PackManifest> {
    const repo = packRepository(entry.name);
    const stored = await this.store.getManifest(repo, entry.manifestDigest);
    const config = stored && (JSON.parse(stored.bytes.toString('utf8')) as { config: { digest: string } }).config.digest;
    if (!config) throw new PcgError('PCG_ERR_NOT_FOUND', `${entry.name}:${entry.version} is in the index but not in the store; the registry needs a reindex`);
    const chunks: Buffer[] = [];
    for await (const chunk of this.store.readBlob(repo, config as `sha256:${string}`)) chunks.push(chunk as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as PackManifest;
  }

  /** Blobs, then the manifest under the version tag. */
  async #store(path: string, archive: PackArchive, message: string | null): Promise<PackIndexEntry> {
    const { name, version } = archive.manifest;
    const repo = packRepository(name);
    const archiveBlob = await this.store.putBlob(repo, createReadStream(path), archive.digest as `sha256:${string}`);
    const configBytes = Buffer.from(JSON.stringify(archive.manifest));
    const config = await this.store.putBlob(repo, Readable.from([configBytes]), sha256Digest(configBytes));
    const bytes = packManifestBytes({ name, version, config, archive: archiveBlob, message });
    const stored = await this.store.putManifest(repo, bytes, OCI_MANIFEST_MEDIA_TYPE, versionTag(version));
    const m = archive.manifest;
    return {
      name, version, displayName: m.displayName, layer: m.layer, cloudTypes: m.cloudTypes, addonType: m.addonType ?? null,
      manifestDigest: stored.digest, archiveDigest: archiveBlob.digest, archiveSize: archiveBlob.size, message,
    };
  }

  /** A forced re-push: labels follow the version to its new manifest; the old manifest goes. */
  async #replaced(old: PackIndexEntry, now: PackIndexEntry): Promise<void> {
    const repo = packRepository(now.name);
    for (const tag of this.index.tags(now.name, now.version)) {
      if (tag.kind === 'label') await this.#pointTag(repo, tag.tag, now);
    }
    if (old.manifestDigest !== now.manifestDigest) await this.store.deleteManifest(repo, old.manifestDigest);
  }

  /** Sets every parent tag to its newest release and drops those no version calls for any more. */
  async #refreshParents(name: string, changedVersion?: string): Promise<void> {
    const repo = packRepository(name);
    const wanted = parentTags(this.index.versions(name));
    const current = new Map(this.index.tags(name).filter((t) => t.kind === 'parent').map((t) => [t.tag, t.version]));
    for (const [tag, version] of wanted) {
      if (current.get(tag) === version && version !== changedVersion) continue;
      await this.#pointTag(repo, tag, this.index.get(name, version)!);
      this.index.setTag(name, tag, version);
    }
    for (const tag of current.keys()) {
      if (wanted.has(tag)) continue;
      await this.store.deleteTag(repo, tag);
      this.index.removeTag(name, tag);
    }
  }

  /** Tags the version's manifest (same bytes, so the same digest) under `tag`. */
  async #pointTag(repo: string, tag: string, entry: PackIndexEntry): Promise<void> {
    const stored = await this.store.getManifest(repo, entry.manifestDigest);
    if (!stored) throw new PcgError('PCG_ERR_NOT_FOUND', `${entry.name}:${entry.version} is in the index but not in the store; the registry needs a reindex`);
    await this.store.putManifest(repo, stored.bytes, stored.mediaType, tag);
  }

  async #locked<T>(name: string, work: () => Promise<T>): Promise<T> {
    const prior = this.#locks.get(name) ?? Promise.resolve();
    const run = prior.then(work);
    const tail = run.then(() => undefined, () => undefined);
    this.#locks.set(name, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(name) === tail) this.#locks.delete(name);
    }
  }
}
