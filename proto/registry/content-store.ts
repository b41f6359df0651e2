/**
 * The registry's content model, shared by the gateway's embedded registry and the relay's public
 * one (both serve the same code; it lives in proto/ because gateway/ and saas-relay/ may not
 * import each other). It is the OCI distribution model: repositories of manifests and tags over
 * content-addressed blobs. Packs are OCI artifacts on top of it (artifactType
 * `application/vnd.pcg.pack.v1`, config = pack.json, one layer = the zip); the pack index
 * (proto/registry/pack-*.ts) is built on this port and never touches files itself.
 */
import type { Readable } from 'node:stream';

/** `sha256:<64 hex>` — the only algorithm this registry stores. */
export type Digest = `sha256:${string}`;

export const PACK_ARTIFACT_TYPE = 'application/vnd.pcg.pack.v1';
export const PACK_CONFIG_MEDIA_TYPE = 'application/vnd.pcg.pack.config.v1+json';
export const PACK_LAYER_MEDIA_TYPE = 'application/vnd.pcg.pack.layer.v1.zip';
export const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';

export interface BlobInfo {
  readonly digest: Digest;
  readonly size: number;
}

export interface StoredManifest {
  readonly digest: Digest;
  readonly mediaType: string;
  /** The manifest exactly as pushed: its digest is over these bytes. */
  readonly bytes: Buffer;
  /** From the manifest, for referrers and listings. */
  readonly artifactType: string | null;
  readonly subject: Digest | null;
}

export interface ContentStore {
  /** Size of a blob linked into `repo`; undefined when absent there (even if another repo has it). */
  statBlob(repo: string, digest: Digest): Promise<BlobInfo | undefined>;
  /** The blob's bytes (optionally a byte range, end inclusive); the caller checked statBlob. */
  readBlob(repo: string, digest: Digest, range?: { readonly start: number; readonly end: number }): Readable;
  /**
   * Streams bytes into the store: sha256 computed while streaming, written to a temp file, renamed
   * into place only when `expected` (if given) matches; linked into `repo`. Dedupes: the same bytes
   * pushed twice are stored once. Rejects with PCG_ERR_BAD_REQUEST (digest mismatch) leaving nothing.
   */
  putBlob(repo: string, source: Readable, expected?: Digest): Promise<BlobInfo>;
  /** Links an existing blob of `from` into `repo` (cross-repository mount); false when `from` lacks it. */
  mountBlob(repo: string, from: string, digest: Digest): Promise<boolean>;
  deleteBlob(repo: string, digest: Digest): Promise<boolean>;

  /** Chunked uploads (OCI): a session id, appended to in order, then committed as a blob. */
  startUpload(repo: string): Promise<string>;
  /** Appends at `offset` (must equal the bytes received so far); returns the new size. */
  appendUpload(repo: string, uploadId: string, source: Readable, offset: number): Promise<number>;
  uploadSize(repo: string, uploadId: string): Promise<number | undefined>;
  commitUpload(repo: string, uploadId: string, expected: Digest): Promise<BlobInfo>;
  cancelUpload(repo: string, uploadId: string): Promise<void>;

  /**
   * Stores a manifest under its digest, and under `tag` when given. Every blob it references (config,
   * layers) must already be in `repo` (else PCG_ERR_BAD_REQUEST naming the missing digest).
   */
  putManifest(repo: string, bytes: Buffer, mediaType: string, tag?: string): Promise<StoredManifest>;
  /** By tag or digest. */
  getManifest(repo: string, reference: string): Promise<StoredManifest | undefined>;
  deleteManifest(repo: string, digest: Digest): Promise<boolean>;
  /** Tags of `repo` in lexical order, after `last`, at most `n`. */
  listTags(repo: string, options?: { readonly n?: number; readonly last?: string }): Promise<string[]>;
  deleteTag(repo: string, tag: string): Promise<boolean>;
  /** Manifests whose subject is `digest`, optionally of one artifactType. */
  referrers(repo: string, digest: Digest, artifactType?: string): Promise<StoredManifest[]>;
  /** Whether `repo` has ever had content (else tags list answers NAME_UNKNOWN). Optional: without it, a repo without tags counts as unknown. */
  hasRepository?(repo: string): Promise<boolean>;
  listRepositories(options?: { readonly n?: number; readonly last?: string }): Promise<string[]>;

  /**
   * Mark and sweep: removes blobs no manifest references and no upload in progress can still
   * reference (blobs younger than `graceMs` are kept: a client pushes layers before the manifest).
   */
  collectGarbage(options?: { readonly graceMs?: number }): Promise<{ readonly removedBlobs: number; readonly freedBytes: number }>;
  close(): Promise<void>;
}
