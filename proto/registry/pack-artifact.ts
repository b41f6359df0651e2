/**
 * How a pack sits in the content store: one OCI repository per pack name, `packs/<name>` (the
 * `packs/` prefix keeps packs apart from plain images pushed to the same registry, and pack names
 * already obey the OCI repository grammar: lowercase, digits, inner dashes), and per version one
 * OCI image manifest:
 *
 *   { schemaVersion: 2, mediaType: OCI manifest, artifactType: application/vnd.pcg.pack.v1,
 *     config: pack.json (PACK_CONFIG_MEDIA_TYPE), layers: [ the zip exactly as uploaded (PACK_LAYER_MEDIA_TYPE) ],
 *     annotations: { org.opencontainers.image.title/version, io.pcg.pack.message? } }
 *
 * tagged with its version (see pack-tags.ts). Nothing time-dependent goes in: the same pack pushed
 * twice is the same manifest digest, so a re-push is a no-op.
 */
import { createHash } from 'node:crypto';
import {
  OCI_MANIFEST_MEDIA_TYPE, PACK_ARTIFACT_TYPE, PACK_CONFIG_MEDIA_TYPE, PACK_LAYER_MEDIA_TYPE, type BlobInfo, type Digest,
} from './content-store.js';

export const PACK_REPOSITORY_PREFIX = 'packs/';
export const MESSAGE_ANNOTATION = 'io.pcg.pack.message';

/** The repository of a pack name. */
export function packRepository(name: string): string {
  return `${PACK_REPOSITORY_PREFIX}${name}`;
}

/** The pack name of a repository, or undefined when it holds no packs. */
export function packNameOf(repository: string): string | undefined {
  return repository.startsWith(PACK_REPOSITORY_PREFIX) ? repository.slice(PACK_REPOSITORY_PREFIX.length) : undefined;
}

export function sha256Digest(bytes: Buffer): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** What a pack's manifest points at. */
export interface PackArtifact {
  readonly config: BlobInfo;
  readonly archive: BlobInfo;
  readonly message: string | null;
}

export interface PackArtifactInput extends PackArtifact {
  readonly name: string;
  readonly version: string;
}

/** The manifest bytes of a pack version (canonical JSON, so equal inputs give equal digests). */
export function packManifestBytes(input: PackArtifactInput): Buffer {
  const annotations: Record<string, string> = {
    'org.opencontainers.image.title': input.name,
    'org.opencontainers.image.version': input.version,
  };
  if (input.message !== null) annotations[MESSAGE_ANNOTATION] = input.message;
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST_MEDIA_TYPE,
    artifactType: PACK_ARTIFACT_TYPE,
    config: { mediaType: PACK_CONFIG_MEDIA_TYPE, digest: input.config.digest, size: input.config.size },
    layers: [{
      mediaType: PACK_LAYER_MEDIA_TYPE, digest: input.archive.digest, size: input.archive.size,
      annotations: { 'org.opencontainers.image.title': `${input.name}-${input.version}.zip` },
    }],
    annotations,
  }));
}

interface Descriptor {
  readonly mediaType?: unknown;
  readonly digest?: unknown;
  readonly size?: unknown;
}

/**
 * The pack a stored manifest describes, or undefined when it is not a pack (another artifact or an
 * image pushed to the same repository over /v2): such manifests are skipped, never refused.
 */
export function parsePackManifest(bytes: Buffer): PackArtifact | undefined {
  let doc: { artifactType?: unknown; config?: Descriptor; layers?: unknown; annotations?: Record<string, unknown> };
  try {
    doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
  } catch {
    return undefined;
  }
  const layers = Array.isArray(doc.layers) ? (doc.layers as Descriptor[]) : [];
  const config = blob(doc.config, PACK_CONFIG_MEDIA_TYPE);
  const archive = layers.length === 1 ? blob(layers[0], PACK_LAYER_MEDIA_TYPE) : undefined;
  if (doc.artifactType !== PACK_ARTIFACT_TYPE || !config || !archive) return undefined;
  const message = doc.annotations?.[MESSAGE_ANNOTATION];
  return { config, archive, message: typeof message === 'string' ? message : null };
}

function blob(d: Descriptor | undefined, mediaType: string): BlobInfo | undefined {
  if (!d || d.mediaType !== mediaType || typeof d.digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(d.digest)) return undefined;
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) return undefined;
  return { digest: d.digest as Digest, size: d.size };
}
