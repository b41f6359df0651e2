import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { extract } from 'tar-stream';
import { PcgError } from '../../proto/errors.js';
import { nodeDigestName, parseManifest, type ManifestEntry } from './ova-manifest.js';
import { parseOvfDescriptor, type ParsedOvf } from './parse-ovf-descriptor.js';

/** One file of the OVA, in tar order. */
export interface OvaFile {
  readonly name: string;
  readonly size: number;
  /** Its digest as computed while reading (the manifest's algorithm), lower-case hex. */
  readonly digest: string;
}

export interface OvaContents {
  readonly path: string;
  readonly descriptorName: string;
  /** The .ovf as text: what CreateImportSpec is given. */
  readonly descriptor: string;
  readonly ovf: ParsedOvf;
  readonly manifestName: string;
  readonly manifest: readonly ManifestEntry[];
  readonly files: readonly OvaFile[];
}

/** Descriptors and manifests are small; a huge first entry is not an OVA. */
const MAX_DESCRIPTOR_BYTES = 16 * 1024 * 1024;

/**
 * Lists and verifies an OVA, reading it once as a stream: the first entry is the .ovf, the second
 * the .mf; every file the manifest names is there with the digest it states; every file the
 * descriptor's References name is there (with its ovf:size), and nothing else is. Any difference
 * is PCG_ERR_OVA_INVALID naming the file and what differs. A `.cert` (a signature over the
 * manifest) is accepted and not checked.
 */
export async function readOva(path: string): Promise<OvaContents> {
  const ova = basename(path);
  const invalid = (what: string, cause?: unknown): PcgError =>
    new PcgError('PCG_ERR_OVA_INVALID', `${ova}: ${what}`, cause === undefined ? undefined : { cause });
  const files: OvaFile[] = [];
  let descriptor: string | undefined;
  let descriptorName = '';
  let ovf: ParsedOvf | undefined;
  let manifest: ManifestEntry[] | undefined;
  let manifestName = '';
  const source = createReadStream(path);
  const tar = extract();
  source.on('error', (err) => tar.destroy(err));
  source.pipe(tar);
  let current = '';
  try {
    for await (const entry of tar) {
      const { name, type, size = 0 } = entry.header;
      current = name;
      if (type !== 'file') throw invalid(`${name}: a ${type ?? 'unknown'} entry; an OVA holds plain files only`);
      if (name.includes('/') || name.includes('\\') || name === '..') throw invalid(`${name}: a path; an OVA holds files at its top level only`);
      if (files.some((f) => f.name === name)) throw invalid(`${name}: present twice`);
      if (files.length === 0 && !name.endsWith('.ovf')) throw invalid(`the first file is ${name}, not the .ovf descriptor`);
      if (files.length === 1 && !name.endsWith('.mf')) throw invalid(`the second file is ${name}, not the .mf manifest`);
      const listed = manifest?.find((m) => m.file === name);
      if (files.length >= 2 && !listed && !name.endsWith('.cert')) throw invalid(`${name} is not in the manifest ${manifestName}`);
      const keep = files.length < 2;
      if (keep && size > MAX_DESCRIPTOR_BYTES) throw invalid(`${name} is ${size} bytes; too large for a ${name.endsWith('.mf') ? 'manifest' : 'descriptor'}`);
      const hash = createHash(listed ? nodeDigestName(listed.algorithm) : 'sha256');
      const chunks: Buffer[] = [];
      let read = 0;
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        hash.update(chunk);
        read += chunk.length;
        if (keep) chunks.push(chunk);
      }
      if (read !== size) throw invalid(`${name} ends after ${read} of its ${size} bytes`);
      files.push({ name, size, digest: hash.digest('hex') });
      if (files.length === 1) {
        descriptorName = name;
        descriptor = Buffer.concat(chunks).toString('utf8');
        try {
          ovf = parseOvfDescriptor(descriptor);
        } catch (err) {
          throw invalid(`${name} is not an OVF descriptor: ${(err as Error).message}`, err);
        }
      } else if (files.length === 2) {
        manifestName = name;
        const parsed = parseManifest(Buffer.concat(chunks).toString('utf8'));
        if ('badLine' in parsed) throw invalid(`${name} line ${parsed.badLine}: ${parsed.reason}`);
        manifest = parsed.entries;
        // The descriptor was read before its manifest entry was known: check it now.
        const ovfEntry = manifest.find((m) => m.file === descriptorName);
        if (!ovfEntry) throw invalid(`${descriptorName} is not in the manifest ${name}`);
        checkDigest(ovfEntry, createHash(nodeDigestName(ovfEntry.algorithm)).update(descriptor ?? '').digest('hex'));
      } else if (listed) {
        checkDigest(listed, files.at(-1)!.digest);
      }
    }
  } catch (err) {
    if (err instanceof PcgError) throw err;
    throw invalid(current ? `unreadable at ${current}: ${(err as Error).message}` : `not a tar archive: ${(err as Error).message}`, err);
  } finally {
    source.destroy();
  }
  if (descriptor === undefined || !ovf) throw invalid('empty: no .ovf descriptor');
  if (!manifest) throw invalid(`no .mf manifest after ${descriptorName}`);

  for (const m of manifest) {
    if (!files.some((f) => f.name === m.file)) throw invalid(`${m.file} is in the manifest but not in the OVA`);
  }
  for (const ref of ovf.references) {
    const file = files.find((f) => f.name === ref.href);
    if (!file) throw invalid(`${ref.href} is in the descriptor's References but not in the OVA`);
    if (ref.size !== undefined && ref.size !== file.size) throw invalid(`${ref.href} is ${file.size} bytes; the descriptor's References say ${ref.size}`);
  }
  for (const file of files.slice(2)) {
    if (!file.name.endsWith('.cert') && !ovf.references.some((r) => r.href === file.name)) throw invalid(`${file.name} is not in the descriptor's References`);
  }
  return { path, descriptorName, descriptor, ovf, manifestName, manifest, files };

  function checkDigest(entry: ManifestEntry, actual: string): void {
    if (entry.digest !== actual) throw invalid(`${entry.file}: ${entry.algorithm} differs from the manifest (manifest ${entry.digest}, file ${actual})`);
  }
}
