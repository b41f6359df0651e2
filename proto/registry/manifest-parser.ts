import type { Digest } from './content-store.js';
import { isSha256Digest, looksLikeDigest } from './oci-grammar.js';
import { RegistryError } from './registry-error.js';
import type { ManifestRefs } from './registry-index.js';

export const OCI_INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.list.v2+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** Manifests point at blobs (config, layers); indexes point at manifests. */
const KIND: Readonly<Record<string, 'manifest' | 'index'>> = {
  [OCI_MANIFEST]: 'manifest',
  [DOCKER_MANIFEST_MEDIA_TYPE]: 'manifest',
  [OCI_INDEX_MEDIA_TYPE]: 'index',
  [DOCKER_MANIFEST_LIST_MEDIA_TYPE]: 'index',
};

export const MANIFEST_MEDIA_TYPES: readonly string[] = Object.keys(KIND);

export interface ParsedManifest {
  readonly mediaType: string;
  /** The manifest's artifactType, else (image manifests) its config's mediaType: what the referrers API reports and filters on. */
  readonly artifactType: string | null;
  readonly subject: Digest | null;
  readonly refs: ManifestRefs;
  readonly annotations: Readonly<Record<string, string>> | null;
}

interface Descriptor {
  readonly mediaType?: unknown;
  readonly digest?: unknown;
  readonly size?: unknown;
}

const invalid = (why: string): RegistryError => new RegistryError('MANIFEST_INVALID', `manifest invalid: ${why}`, { detail: { reason: why } });

function descriptorDigest(value: unknown, where: string): Digest {
  const d = value as Descriptor | null;
  if (typeof d !== 'object' || d === null || typeof d.digest !== 'string' || !looksLikeDigest(d.digest)) throw invalid(`${where} is not a descriptor with a digest`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw invalid(`${where} has no valid size`);
  if (typeof d.mediaType !== 'string' || d.mediaType === '') throw invalid(`${where} has no mediaType`);
  // A digest of another algorithm can never be in this store: the blob check reports it as unknown.
  return d.digest as Digest;
}

/**
 * Parses and checks a pushed manifest (image spec: manifest and index). `contentType` is the
 * request's Content-Type; when the body names a mediaType too, the two must agree.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw invalid('not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('not a JSON object');
  if (body.schemaVersion !== 2) throw invalid('schemaVersion must be 2');
  const declared = typeof body.mediaType === 'string' ? body.mediaType : undefined;
  const header = contentType?.split(';')[0]?.trim();
  const mediaType = header && KIND[header] ? header : declared;
  if (mediaType === undefined || !KIND[mediaType]) throw invalid(`unsupported media type ${header ?? declared ?? '(none)'}; use one of ${MANIFEST_MEDIA_TYPES.join(', ')}`);
  if (declared !== undefined && declared !== mediaType) throw invalid(`mediaType ${declared} differs from Content-Type ${mediaType}`);

  const blobs: Digest[] = [];
  const manifests: Digest[] = [];
  let configType: string | null = null;
  if (KIND[mediaType] === 'manifest') {
    blobs.push(descriptorDigest(body.config, 'config'));
    configType = (body.config as Descriptor).mediaType as string;
    if (!Array.isArray(body.layers)) throw invalid('layers must be an array');
    body.layers.forEach((layer, i) => blobs.push(descriptorDigest(layer, `layers[${i}]`)));
  } else {
    if (!Array.isArray(body.manifests)) throw invalid('manifests must be an array');
    body.manifests.forEach((child, i) => manifests.push(descriptorDigest(child, `manifests[${i}]`)));
  }
  let subject: Digest | null = null;
  if (body.subject !== undefined) {
    const digest = descriptorDigest(body.subject, 'subject');
    if (!isSha256Digest(digest)) throw invalid('subject must be a sha256 digest');
    subject = digest;
  }
  if (body.artifactType !== undefined && typeof body.artifactType !== 'string') throw invalid('artifactType must be a string');
  const artifactType = body.artifactType ?? configType;
  const annotations = typeof body.annotations === 'object' && body.annotations !== null ? body.annotations as Record<string, string> : null;
  return { mediaType, artifactType, subject, refs: { blobs: [...new Set(blobs)], manifests: [...new Set(manifests)] }, annotations };
}
