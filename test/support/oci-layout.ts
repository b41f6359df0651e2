import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const sha = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export interface OciLayoutImage {
  readonly manifestDigest: string;
  /** config and layer digests */
  readonly blobDigests: readonly string[];
}

/**
 * Writes a tiny but real OCI image layout (image spec "Image Layout"): one gzipped tar layer made
 * by Debian's tar, a config whose diff_id is the uncompressed tar's digest, a manifest, and
 * index.json naming it `tag`.
 */
export function writeOciLayout(dir: string, tag: string, fileContent: string): OciLayoutImage {
  const work = join(dir, '.work');
  mkdirSync(join(work, 'root'), { recursive: true });
  writeFileSync(join(work, 'root', 'hello.txt'), fileContent);
  execFileSync('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-cf', join(work, 'layer.tar'), '-C', join(work, 'root'), 'hello.txt']);
  const tar = readFileSync(join(work, 'layer.tar'));
  const layer = gzipSync(tar);
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: { Cmd: ['/hello.txt'] },
    rootfs: { type: 'layers', diff_ids: [sha(tar)] }, history: [{ created_by: 'pcg registry test' }],
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(layer), size: layer.length }],
  }));
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const blob of [layer, config, manifest]) writeFileSync(join(dir, 'blobs', 'sha256', sha(blob).slice(7)), blob);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(manifest), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
  return { manifestDigest: sha(manifest), blobDigests: [sha(config), sha(layer)] };
}

/** The manifest digest index.json names for `tag`. */
export function layoutManifestDigest(dir: string, tag: string): string | undefined {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
  return index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)?.digest;
}

export const layoutBlob = (dir: string, digest: string): Buffer => readFileSync(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)));
