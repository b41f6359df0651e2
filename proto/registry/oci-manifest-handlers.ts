import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ContentStore, StoredManifest } from './content-store.js';
import { OCI_INDEX_MEDIA_TYPE } from './manifest-parser.js';
import { manifestPath, queryValue, type OciContext, type OciHandler } from './oci-context.js';
import { isSha256Digest, isTag, looksLikeDigest } from './oci-grammar.js';
import type { OciEndpoint } from './oci-request-path.js';
import { RegistryError } from './registry-error.js';

type Endpoint<K extends OciEndpoint['kind']> = Extract<OciEndpoint, { kind: K }>;

async function manifestChanged(ctx: OciContext, repository: string): Promise<void> {
  const hook = ctx.options.onManifestChange;
  try {
    await hook?.(repository);
  } catch (err) {
    ctx.options.log?.error({ err, repository }, 'updating what follows the registry after a manifest change failed');
  }
}

/** A manifest reference is a tag or a digest (the spec's `<reference>`); anything else names nothing. */
function checkReference(reference: string): void {
  if (!isTag(reference) && !looksLikeDigest(reference)) {
    throw new RegistryError('MANIFEST_INVALID', `"${reference}" is neither a tag nor a digest`, { detail: { reference } });
  }
}

function unknownManifest(name: string, reference: string): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} is not in ${name}`, { detail: { name, reference } });
}

/** GET / HEAD /v2/<name>/manifests/<reference>: the bytes as pushed, their media type and digest. */
export const getManifest: OciHandler<Endpoint<'manifest'>> = async (ctx, { name, reference }, request, reply) => {
  checkReference(reference);
  const manifest = await ctx.options.store.getManifest(name, reference);
  if (!manifest) throw unknownManifest(name, reference);
  void reply.type(manifest.mediaType).header('docker-content-digest', manifest.digest).header('content-length', manifest.bytes.length);
  return reply.send(request.method === 'HEAD' ? undefined : manifest.bytes);
};

/**
 * PUT /v2/<name>/manifests/<reference>: stored under its digest (and the tag, when the reference
 * is one). By digest, the bytes must hash to it. Above maxManifestBytes: 413 without reading on.
 */
export const putManifest: OciHandler<Endpoint<'manifest'>> = async (ctx, { name, reference }, request, reply) => {
  checkReference(reference);
  const max = ctx.options.maxManifestBytes;
  const tooLarge = (): RegistryError => {
    void reply.header('connection', 'close'); // the rest of an oversized body is not worth reading
    return new RegistryError('SIZE_INVALID', `manifest larger than ${max} bytes`, { status: 413, detail: { limit: max } });
  };
  if (Number(request.headers['content-length'] ?? '0') > max) throw tooLarge();
  const bytes = await readCapped(request.raw, max, tooLarge);
  const byDigest = looksLikeDigest(reference);
  if (byDigest) {
    if (!isSha256Digest(reference)) throw new RegistryError('DIGEST_INVALID', `only sha256 digests are stored here, not ${reference}`, { detail: { digest: reference } });
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== reference) throw new RegistryError('DIGEST_INVALID', `the manifest's digest is ${actual}, not ${reference}`, { detail: { digest: reference, actual } });
  }
  const stored = await ctx.options.store.putManifest(name, bytes, request.headers['content-type'] ?? '', byDigest ? undefined : reference);
  await manifestChanged(ctx, name);
  void reply.code(201).header('location', manifestPath(name, stored.digest)).header('docker-content-digest', stored.digest).header('content-length', 0);
  // v1.1: a registry with the referrers API says so by echoing the subject it indexed.
  if (stored.subject) void reply.header('oci-subject', stored.subject);
  return reply.send();
};

/** DELETE /v2/<name>/manifests/<reference>: by digest the manifest (and its tags), by tag only the tag; 202. */
export const deleteManifest: OciHandler<Endpoint<'manifest'>> = async (ctx, { name, reference }, _request, reply) => {
  checkReference(reference);
  const { store } = ctx.options;
  const gone = looksLikeDigest(reference)
    ? isSha256Digest(reference) && await store.deleteManifest(name, reference)
    : await store.deleteTag(name, reference);
  if (!gone) throw unknownManifest(name, reference);
  await manifestChanged(ctx, name);
  return reply.code(202).header('content-length', 0).send();
};

/** GET /v2/<name>/tags/list[?n=&last=]: lexical order; a `Link: <…>; rel="next"` while more remain. */
export const listTags: OciHandler<Endpoint<'tags'>> = async (ctx, { name }, request, reply) => {
  const { store } = ctx.options;
  if (!(await repositoryKnown(store, name))) {
    throw new RegistryError('NAME_UNKNOWN', `repository ${name} is not known`, { detail: { name } });
  }
  const nText = queryValue(request, 'n');
  const last = queryValue(request, 'last');
  if (nText !== undefined && !/^\d+$/.test(nText)) throw new RegistryError('UNSUPPORTED', `n must be a non-negative integer, not "${nText}"`, { status: 400, detail: { n: nText } });
  const n = nText === undefined ? undefined : Number(nText);
  // One more than asked for tells whether a next page exists.
  const tags = n === 0 ? [] : await store.listTags(name, { ...(n !== undefined ? { n: n + 1 } : {}), ...(last !== undefined ? { last } : {}) });
  if (n !== undefined && n > 0 && tags.length > n) {
    tags.length = n;
    void reply.header('link', `</v2/${name}/tags/list?n=${n}&last=${encodeURIComponent(tags[n - 1]!)}>; rel="next"`);
  }
  return reply.type('application/json').send({ name, tags });
};

/**
 * GET /v2/<name>/referrers/<digest>[?artifactType=]: an image index of the manifests whose
 * subject is <digest>; never 404 (an unknown digest has no referrers), 400 for a malformed one.
 */
export const listReferrers: OciHandler<Endpoint<'referrers'>> = async (ctx, { name, digest }, request, reply) => {
  if (!looksLikeDigest(digest) || (digest.startsWith('sha256:') && !isSha256Digest(digest))) throw new RegistryError('DIGEST_INVALID', `"${digest}" is not a digest`, { detail: { digest } });
  const artifactType = queryValue(request, 'artifactType');
  const found = isSha256Digest(digest) ? await ctx.options.store.referrers(name, digest, artifactType) : [];
  if (artifactType !== undefined) void reply.header('oci-filters-applied', 'artifactType');
  return reply.type(OCI_INDEX_MEDIA_TYPE).send(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX_MEDIA_TYPE, manifests: found.map(descriptorOf) })));
};

/** A referrer's descriptor: the spec asks for its artifactType and its annotations. */
function descriptorOf(manifest: StoredManifest): Record<string, unknown> {
  let annotations: unknown;
  try {
    annotations = (JSON.parse(manifest.bytes.toString('utf8')) as { annotations?: unknown }).annotations;
  } catch {
    annotations = undefined;
  }
  return {
    mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length,
    ...(manifest.artifactType ? { artifactType: manifest.artifactType } : {}),
    ...(annotations && typeof annotations === 'object' ? { annotations } : {}),
  };
}

/** Reads a small body whole; stops (and throws `tooLarge()`) as soon as it passes `max`. */
async function readCapped(source: Readable, max: number, tooLarge: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += (chunk as Buffer).length;
    if (size > max) {
      source.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

/** Whether a repository exists: the store's answer when it gives one, else whether it has tags. */
async function repositoryKnown(store: ContentStore, name: string): Promise<boolean> {
  if (store.hasRepository) return store.hasRepository(name);
  return (await store.listTags(name, { n: 1 })).length > 0;
}
