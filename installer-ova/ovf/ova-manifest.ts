import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Digest algorithms a manifest line may name (ovftool writes SHA256; older OVAs SHA1). */
const ALGORITHMS: Readonly<Record<string, string>> = { SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' };

export interface ManifestEntry {
  readonly file: string;
  /** As written in the manifest: SHA1, SHA256 or SHA512. */
  readonly algorithm: string;
  /** Lower-case hex. */
  readonly digest: string;
}

/** `SHA256(name.ovf)= <hex>` lines, as ovftool writes them, one per file, LF-terminated. */
export function formatManifest(entries: ReadonlyArray<{ file: string; sha256: string }>): string {
  return entries.map((e) => `SHA256(${e.file})= ${e.sha256}\n`).join('');
}

const LINE = /^(SHA1|SHA256|SHA512)\(([^()/\\]+)\)\s*=\s*([0-9a-fA-F]+)$/;

/**
 * Parses a manifest; returns the entries, or the first line that is not one (its number and text
 * for the error). A file named twice is an error too: which digest would count?
 */
export function parseManifest(text: string): { entries: ManifestEntry[] } | { badLine: number; reason: string } {
  const entries: ManifestEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    const match = LINE.exec(line.trim());
    if (!match) return { badLine: index + 1, reason: 'not an "SHA256(file)= hex" line' };
    const [, algorithm, file, digest] = match as unknown as [string, string, string, string];
    const hexLength = createHash(ALGORITHMS[algorithm]!).digest().length * 2;
    if (digest.length !== hexLength) return { badLine: index + 1, reason: `${algorithm} digest of ${file} has ${digest.length} hex digits, not ${hexLength}` };
    if (entries.some((e) => e.file === file)) return { badLine: index + 1, reason: `${file} is listed twice` };
    entries.push({ file, algorithm, digest: digest.toLowerCase() });
  }
  return { entries };
}

/** Node's name of a manifest algorithm. */
export function nodeDigestName(algorithm: string): string {
  const name = ALGORITHMS[algorithm];
  if (!name) throw new TypeError(`unknown manifest algorithm ${algorithm}`);
  return name;
}

/** SHA-256 of a file, read as a stream (vmdks are hundreds of MB). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** SHA-256 of bytes in memory (the descriptor). */
export const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
