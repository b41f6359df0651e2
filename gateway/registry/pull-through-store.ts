import type { Readable } from 'node:stream';
import type { BlobInfo, ContentStore, Digest, StoredManifest } from '../../proto/registry/content-store.js';
import { parseManifest, type ParsedManifest } from '../../proto/registry/manifest-parser.js';
import { isSha256Digest, isTag } from '../../proto/registry/oci-grammar.js';
import { PACK_REPOSITORY_PREFIX, sha256Digest } from '../../proto/registry/pack-artifact.js';
import { RegistryError } from '../../proto/registry/registry-error.js';
import type { PublicUpstream } from './public-upstream.js';
import { RegistryUnreachableError } from './registry-unreachable-error.js';
import { SingleFlight } from './single-flight.js';

/** What pull-through reads upstream: PublicUpstream, or a fake of these two calls in unit tests. */
export type PullThroughUpstream = Pick<PublicUpstream, 'manifest' | 'blob' | 'relayUrl'>;

/** An index (manifest list) points at manifests, which may be indexes again; deeper than this is refused. */
const MAX_DEPTH = 2;

/**
 * The gateway's content store with the relay's public registry behind it. Naming: a public pack is
 * in the same repository on both, `packs/<name>`; what the gateway holds itself always wins, and
 * only what it lacks under `packs/` is asked of the relay (other repositories are the gateway's
 * alone). Every other call goes straight to the local store.
 *
 *   statBlob(packs/x, d)    local? → yes: serve │ no: one upstream GET per digest (SingleFlight),
 *                           streamed into putBlob(expected = d): sha256 checked while writing, a temp
 *                           file renamed only when it matches; every waiter then reads the local file
 *   getManifest(packs/x, r) local? → yes: serve │ no: GET the manifest (its digest checked), pull each
 *                           blob (and child manifest) it names as above, then putManifest (under `r`
 *                           when it is a tag): a manifest is stored only once all it references is
 *
 * Callers reach the store after authorisation (the OCI routes and the pack routes check first), so
 * nobody without a pull grant can make the gateway fetch. A failure upstream (refused, timed out,
 * cut mid-stream, wrong bytes) is a RegistryUnreachableError and leaves no half-written blob and no
 * manifest; blobs that were complete and verified stay (content-addressed: they are correct, and
 * a retry does not fetch them again); unreferenced ones go with the usual garbage collection.
 */
export class PullThroughStore implements ContentStore {
  readonly #blobs = new SingleFlight<Digest, { readonly repo: string; readonly info: BlobInfo | undefined }>();
  readonly #manifests = new SingleFlight<string, StoredManifest | undefined>();

  constructor(private readonly local: ContentStore & { readonly dir: string }, private readonly upstream: PullThroughUpstream) {}

  /** The local store's folder (the pack API keeps its index beside it). */
  get dir(): string {
    return this.local.dir;
  }

  async statBlob(repo: string, digest: Digest): Promise<BlobInfo | undefined> {
    const found = await this.local.statBlob(repo, digest);
    if (found || !pullsThrough(repo) || !isSha256Digest(digest)) return found;
    return this.#pullBlob(repo, digest);
  }

  async getManifest(repo: string, reference: string): Promise<StoredManifest | undefined> {
    const found = await this.local.getManifest(repo, reference);
    if (found || !pullsThrough(repo) || !(isSha256Digest(reference) || isTag(reference))) return found;
    return this.#manifests.run(`${repo}\n${reference}`, () => this.#pullManifest(repo, reference, 0));
  }

  /** Pulls a blob once however many ask at once; a second repository asking for the same digest gets it mounted, not fetched. */
  async #pullBlob(repo: string, digest: Digest, expectedSize?: number): Promise<BlobInfo | undefined> {
    for (;;) {
      const pulled = await this.#blobs.run(digest, async () => ({ repo, info: await this.#fetchBlob(repo, digest, expectedSize) }));
      if (!pulled.info || pulled.repo === repo) return pulled.info;
      if (await this.local.mountBlob(repo, pulled.repo, digest)) return this.local.statBlob(repo, digest);
      // Collected between the two steps (unlikely: it is younger than the grace period); fetch for this repository.
    }
  }

  async #fetchBlob(repo: string, digest: Digest, expectedSize: number | undefined): Promise<BlobInfo | undefined> {
    const again = await this.local.statBlob(repo, digest);
    if (again) return again;
    const body = await this.upstream.blob(repo, digest);
    if (!body) return undefined;
    let info: BlobInfo;
    try {
      info = await this.local.putBlob(repo, body, digest);
    } catch (err) {
      body.destroy();
      if (err instanceof RegistryError && err.ociCode === 'DIGEST_INVALID') {
        throw new RegistryUnreachableError(`the relay sent other bytes for ${repo}@${digest}; nothing was stored`, err);
      }
      if (err instanceof RegistryError) throw err;
      throw new RegistryUnreachableError(`the transfer of ${repo}@${digest} from ${this.upstream.relayUrl} broke off (${(err as { code?: string }).code ?? (err as Error).message}); nothing was stored`, err);
    }
    if (expectedSize !== undefined && info.size !== expectedSize) {
      // The digest matched, so the descriptor's size was wrong: the manifest, not the blob, is bad.
      throw new RegistryUnreachableError(`the relay's manifest gives ${repo}@${digest} ${expectedSize} bytes, the blob has ${info.size}`);
    }
    return info;
  }

  async #pullManifest(repo: string, reference: string, depth: number): Promise<StoredManifest | undefined> {
    const again = await this.local.getManifest(repo, reference);
    if (again) return again;
    const fetched = await this.upstream.manifest(repo, reference);
    if (!fetched) return undefined;
    const digest = sha256Digest(fetched.bytes);
    const claimed = isSha256Digest(reference) ? reference : fetched.digest;
    if (claimed !== undefined && claimed !== digest) {
      throw new RegistryUnreachableError(`the relay sent a manifest for ${repo}:${reference} whose digest is ${digest}, not ${claimed}; nothing was stored`);
    }
    const parsed = upstreamManifest(repo, reference, fetched.bytes, fetched.mediaType);
    if (parsed.refs.manifests.length > 0 && depth >= MAX_DEPTH) throw new RegistryUnreachableError(`the relay's ${repo}:${reference} nests indexes deeper than ${MAX_DEPTH}`);
    const sizes = descriptorSizes(fetched.bytes);
    for (const blob of parsed.refs.blobs) {
      if (!await this.local.statBlob(repo, blob) && !await this.#pullBlob(repo, blob, sizes.get(blob))) {
        throw new RegistryUnreachableError(`the relay's ${repo}:${reference} names ${blob}, which the relay does not have; nothing was stored`);
      }
    }
    for (const child of parsed.refs.manifests) {
      if (!await this.local.getManifest(repo, child) && !await this.#pullManifest(repo, child, depth + 1)) {
        throw new RegistryUnreachableError(`the relay's ${repo}:${reference} names the manifest ${child}, which the relay does not have; nothing was stored`);
      }
    }
    return this.local.putManifest(repo, fetched.bytes, parsed.mediaType, isTag(reference) ? reference : undefined);
  }

  // ---- the rest is the local store's ----

  readBlob(repo: string, digest: Digest, range?: { readonly start: number; readonly end: number }): Readable {
    return this.local.readBlob(repo, digest, range);
  }

  putBlob(repo: string, source: Readable, expected?: Digest): Promise<BlobInfo> {
    return this.local.putBlob(repo, source, expected);
  }

  mountBlob(repo: string, from: string, digest: Digest): Promise<boolean> {
    return this.local.mountBlob(repo, from, digest);
  }

  deleteBlob(repo: string, digest: Digest): Promise<boolean> {
    return this.local.deleteBlob(repo, digest);
  }

  startUpload(repo: string): Promise<string> {
    return this.local.startUpload(repo);
  }

  appendUpload(repo: string, uploadId: string, source: Readable, offset: number): Promise<number> {
    return this.local.appendUpload(repo, uploadId, source, offset);
  }

  uploadSize(repo: string, uploadId: string): Promise<number | undefined> {
    return this.local.uploadSize(repo, uploadId);
  }

  commitUpload(repo: string, uploadId: string, expected: Digest): Promise<BlobInfo> {
    return this.local.commitUpload(repo, uploadId, expected);
  }

  cancelUpload(repo: string, uploadId: string): Promise<void> {
    return this.local.cancelUpload(repo, uploadId);
  }

  putManifest(repo: string, bytes: Buffer, mediaType: string, tag?: string): Promise<StoredManifest> {
    return this.local.putManifest(repo, bytes, mediaType, tag);
  }

  deleteManifest(repo: string, digest: Digest): Promise<boolean> {
    return this.local.deleteManifest(repo, digest);
  }

  listTags(repo: string, options?: { readonly n?: number; readonly last?: string }): Promise<string[]> {
    return this.local.listTags(repo, options);
  }

  deleteTag(repo: string, tag: string): Promise<boolean> {
    return this.local.deleteTag(repo, tag);
  }

  referrers(repo: string, digest: Digest, artifactType?: string): Promise<StoredManifest[]> {
    return this.local.referrers(repo, digest, artifactType);
  }

  hasRepository(repo: string): Promise<boolean> {
    return this.local.hasRepository ? this.local.hasRepository(repo) : this.local.listTags(repo, { n: 1 }).then((t) => t.length > 0);
  }

  listRepositories(options?: { readonly n?: number; readonly last?: string }): Promise<string[]> {
    return this.local.listRepositories(options);
  }

  collectGarbage(options?: { readonly graceMs?: number }): Promise<{ readonly removedBlobs: number; readonly freedBytes: number }> {
    return this.local.collectGarbage(options);
  }

  /** Closes the local store (the upstream belongs to the caller). */
  close(): Promise<void> {
    return this.local.close();
  }
}

const pullsThrough = (repo: string): boolean => repo.startsWith(PACK_REPOSITORY_PREFIX);

/**
 * Parses what the relay sent. A manifest the parser refuses is the relay misbehaving, not the
 * client's request (a MANIFEST_INVALID 400 would tell the client to fix what it sent): it is
 * answered as the relay being unusable, 503, like any other bad answer from upstream.
 */
function upstreamManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): ParsedManifest {
  try {
    return parseManifest(bytes, mediaType);
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    throw new RegistryUnreachableError(`the relay sent an invalid manifest for ${repo}:${reference} (${err.detail ?? err.message}); nothing was stored`, err);
  }
}

/** digest → size of every descriptor in a manifest (config, layers, manifests), to check what arrives. */
function descriptorSizes(bytes: Buffer): Map<string, number> {
  const doc = JSON.parse(bytes.toString('utf8')) as { config?: unknown; layers?: unknown; manifests?: unknown };
  const sizes = new Map<string, number>();
  const list = (value: unknown): unknown[] => (Array.isArray(value) ? (value as unknown[]) : []);
  for (const d of [doc.config, ...list(doc.layers), ...list(doc.manifests)]) {
    const { digest, size } = (d ?? {}) as { digest?: unknown; size?: unknown };
    if (typeof digest === 'string' && typeof size === 'number') sizes.set(digest, size);
  }
  return sizes;
}
