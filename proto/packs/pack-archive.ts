/**
 * Reads and checks a pack zip; stores nothing and extracts nothing. The order is the defence:
 *
 *   1. central directory, entry by entry: names, file types, encryption, declared sizes, count,
 *      duplicates                                   -- no entry data read yet
 *   2. local headers: same name and method as the central record, no two entries sharing bytes
 *   3. entry data, streamed through inflate one entry at a time: real bytes counted against the
 *      declared size (aborted at the first byte over), CRC-32, text files kept for step 4
 *   4. content rules (pack-content.ts): manifest, YAML, layout, named paths, values schema
 *
 * A zip keeps its directory at the end, so a network upload is read into memory (bounded by
 * maxArchiveBytes) or, for big ones, first written to a temp file by the caller (the registry's
 * blob store does this anyway, hashing as it writes) and passed by path.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open as openFile, stat } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import yauzl, { type Entry, type Options, type ZipFile } from 'yauzl';
import { collisionKey } from './pack-entry-path.js';
import { PackError, packError } from './pack-error.js';
import { checkPackContent, HEAD_BYTES, isParsedTextFile, type ExpectedPack } from './pack-content.js';
import { parsePackLimits, type PackLimits } from './pack-limits.js';
import type { PackManifest } from './pack-manifest.js';
import { checkZipEntry, type PackEntry } from './pack-zip-entry.js';

/** Where the archive is: a file, bytes in memory, or a stream (read into memory, bounded). */
export type PackSource =
  | { readonly path: string }
  | { readonly buffer: Buffer }
  | { readonly stream: AsyncIterable<Buffer | Uint8Array> };

export interface PackArchiveOptions {
  /** Size and count limits; see PackLimits for each default. */
  readonly limits?: PackLimits;
  /** Name and version the caller expects; a pack that says otherwise is PCG_ERR_PACK_MISMATCH. */
  readonly expected?: ExpectedPack;
}

/** A pack that passed every check. */
export interface PackArchive {
  readonly manifest: PackManifest;
  /** Every entry, sorted by path. */
  readonly entries: readonly PackEntry[];
  /** `sha256:<hex>` of the archive bytes: the blob's address in the registry. */
  readonly digest: string;
  /** Archive size in bytes. */
  readonly size: number;
}

// decodeStrings off: our own name checks run with a code (see pack-zip-entry.ts). validateEntrySizes
// off: we count inflated bytes ourselves and stop at the first one over the declared size.
const ZIP_OPTIONS: Options = { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: false, strictFileNames: true };

/** Reads and checks a pack archive; throws a PackError (PCG_ERR_PACK_*) naming the entry and the rule. */
export async function readPackArchive(source: PackSource, options: PackArchiveOptions = {}): Promise<PackArchive> {
  const limits = parsePackLimits(options.limits);
  const { open, digest, size, readAt } = await load(source, limits.maxArchiveBytes);
  let zip: ZipFile;
  try {
    zip = await open();
  } catch (err) {
    throw packError('PCG_ERR_PACK_ARCHIVE', 'not-a-zip', `not a readable zip archive: ${(err as Error).message}`);
  }
  try {
    // yauzl keeps its cursor in the central directory; at the start it is the directory's offset.
    const directoryStart = (zip as unknown as { readEntryCursor: number }).readEntryCursor;
    const records = await readDirectory(zip, limits);
    await checkNothingHidden(readAt, (zip as unknown as { readEntryCursor: number }).readEntryCursor);
    await checkLocalHeaders(zip, records, directoryStart);
    const { texts, heads } = await readData(zip, records, limits);
    const entries = records.map((r) => r.checked).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const manifest = checkPackContent(entries, texts, heads, options.expected);
    return { manifest, entries, digest, size };
  } catch (err) {
    if (err instanceof PackError) throw err;
    // yauzl's own refusals (bad signatures, truncated records, zlib errors) are damage, not a bug of ours.
    throw new PackError('PCG_ERR_PACK_ARCHIVE', [{ rule: 'malformed', message: (err as Error).message }], { cause: err });
  } finally {
    zip.close();
  }
}

interface Record {
  readonly entry: Entry;
  readonly checked: PackEntry;
}

type Limits = ReturnType<typeof parsePackLimits>;

/** Reads `length` bytes at `position` of the archive (fewer at its end). */
type ReadAt = (position: number, length: number) => Promise<Buffer>;

interface Loaded {
  readonly open: () => Promise<ZipFile>;
  readonly readAt: ReadAt;
  readonly digest: string;
  readonly size: number;
}

async function load(source: PackSource, maxBytes: number): Promise<Loaded> {
  if ('path' in source) {
    const { path } = source;
    const { size } = await stat(path);
    if (size > maxBytes) throw packError('PCG_ERR_PACK_TOO_LARGE', 'archive-size', `the archive is ${size} bytes, above the limit of ${maxBytes}`);
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    const readAt: ReadAt = async (position, length) => {
      const file = await openFile(path, 'r');
      try {
        const { buffer, bytesRead } = await file.read(Buffer.alloc(length), 0, length, position);
        return buffer.subarray(0, bytesRead);
      } finally {
        await file.close();
      }
    };
    return { open: () => yauzl.openPromise(path, ZIP_OPTIONS), readAt, digest: `sha256:${hash.digest('hex')}`, size };
  }
  const buffer = 'buffer' in source ? source.buffer : await collect(source.stream, maxBytes);
  if (buffer.length > maxBytes) throw packError('PCG_ERR_PACK_TOO_LARGE', 'archive-size', `the archive is ${buffer.length} bytes, above the limit of ${maxBytes}`);
  const digest = `sha256:${createHash('sha256').update(buffer).digest('hex')}`;
  const readAt: ReadAt = (position, length) => Promise.resolve(buffer.subarray(position, position + length));
  return { open: () => yauzl.fromBufferPromise(buffer, ZIP_OPTIONS), readAt, digest, size: buffer.length };
}

const END_RECORD = 0x06054b50;
const ZIP64_END_RECORD = 0x06064b50;

/**
 * The end record's entry count is only a claim: yauzl reads that many central records and stops.
 * Central records past the count are entries other tools (which read until the end record) would
 * extract and we would never have checked; so right after the last record read, an end record
 * must start.
 */
async function checkNothingHidden(readAt: ReadAt, directoryEnd: number): Promise<void> {
  const next = await readAt(directoryEnd, 4);
  const signature = next.length === 4 ? next.readUInt32LE(0) : -1;
  if (signature !== END_RECORD && signature !== ZIP64_END_RECORD) {
    throw packError('PCG_ERR_PACK_ARCHIVE', 'hidden-entries', 'the central directory holds more than the entry count its end record declares');
  }
}

/** Reads a stream into memory, refusing it the moment it passes `maxBytes`. */
async function collect(stream: AsyncIterable<Buffer | Uint8Array>, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > maxBytes) throw packError('PCG_ERR_PACK_TOO_LARGE', 'archive-size', `the archive is above the limit of ${maxBytes} bytes`);
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return Buffer.concat(chunks, total);
}

/** Step 1: every central-directory record, checked before any entry data is touched. */
async function readDirectory(zip: ZipFile, limits: Limits): Promise<Record[]> {
  if (zip.entryCount > limits.maxEntries) {
    throw packError('PCG_ERR_PACK_TOO_LARGE', 'entry-count', `the archive declares ${zip.entryCount} entries, above the limit of ${limits.maxEntries}`);
  }
  // yauzl yields exactly entryCount records, checked above; records past it are caught by checkNothingHidden.
  const records: Record[] = [];
  const byKey = new Map<string, PackEntry>();
  let declared = 0;
  for await (const entry of zip.eachEntry()) {
    const checked = checkZipEntry(entry, limits);
    const prior = byKey.get(collisionKey(checked.path));
    if (prior !== undefined) {
      // Two entries that extract to one file: which one wins depends on the extractor, so the
      // one we validated may not be the one a node uses.
      throw packError('PCG_ERR_PACK_ARCHIVE', 'duplicate-entry', `extracts to the same file as '${prior.path}'`, { entry: checked.path });
    }
    byKey.set(collisionKey(checked.path), checked);
    declared += checked.size;
    if (declared > limits.maxExpandedBytes) {
      throw packError('PCG_ERR_PACK_TOO_LARGE', 'expanded-size', `entries declare more than ${limits.maxExpandedBytes} bytes expanded in total`, { entry: checked.path });
    }
    records.push({ entry, checked });
  }
  // A file `a` and an entry `a/b`: extracting one fails or, with a symlink elsewhere, redirects the other.
  for (const { checked } of records) {
    const parts = checked.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = byKey.get(collisionKey(parts.slice(0, i).join('/')));
      if (parent !== undefined && !parent.directory) {
        throw packError('PCG_ERR_PACK_ARCHIVE', 'path-conflict', `'${parent.path}' is a file, so it cannot hold entries`, { entry: checked.path });
      }
    }
  }
  return records;
}

/**
 * Step 2. Streaming extractors (Java's ZipInputStream, `bsdtar`) read local headers, not the
 * central directory: a benign central name over a `../` local name is checked here. Entries whose
 * data overlap are the "better zip bomb" (one compressed kernel expanded by every entry).
 */
async function checkLocalHeaders(zip: ZipFile, records: readonly Record[], directoryStart: number): Promise<void> {
  const spans: { start: number; end: number; path: string; descriptor: boolean }[] = [];
  for (const { entry, checked } of records) {
    const local = await zip.readLocalFileHeaderPromise(entry);
    const where = { entry: checked.path };
    if (!local.fileName.equals(entry.fileNameRaw)) {
      throw packError('PCG_ERR_PACK_ARCHIVE', 'local-header-mismatch', `the local header names it '${local.fileName.toString('utf8')}'`, where);
    }
    if (local.compressionMethod !== entry.compressionMethod || (local.generalPurposeBitFlag & 1) !== 0) {
      throw packError('PCG_ERR_PACK_ARCHIVE', 'local-header-mismatch', 'the local header disagrees with the central directory (method or encryption)', where);
    }
    spans.push({ start: entry.relativeOffsetOfLocalHeader, end: local.fileDataStart + entry.compressedSize, path: checked.path,
      descriptor: (entry.generalPurposeBitFlag & 0x8) !== 0 });
  }
  spans.sort((a, b) => a.start - b.start);
  // The entries must tile the bytes before the central directory: a gap is data no entry accounts
  // for (a hidden local entry that streaming extractors write, a prepended program), an overlap the
  // "better zip bomb". A data descriptor (bit 3) may follow an entry's data: 12 to 24 bytes.
  let previous = { start: 0, end: 0, path: '', descriptor: false };
  for (const span of [...spans, { start: directoryStart, end: directoryStart, path: '', descriptor: false }]) {
    if (span.start < previous.end) {
      throw packError('PCG_ERR_PACK_ARCHIVE', 'overlapping-entries', `its data overlaps that of '${previous.path}'`, span.path ? { entry: span.path } : {});
    }
    const gap = span.start - previous.end;
    if (gap !== 0 && !(previous.descriptor && [12, 16, 20, 24].includes(gap))) {
      throw packError('PCG_ERR_PACK_ARCHIVE', 'unexpected-data', `${gap} bytes at offset ${previous.end} belong to no entry`, previous.path ? { entry: previous.path } : {});
    }
    previous = span;
  }
}

/** Step 3: every file's data, inflated and counted as it streams; nothing is written anywhere. */
async function readData(zip: ZipFile, records: readonly Record[], limits: Limits): Promise<{ texts: Map<string, string>; heads: Map<string, Buffer> }> {
  const texts = new Map<string, string>();
  const heads = new Map<string, Buffer>();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let total = 0;
  const files = records.filter((r) => !r.checked.directory)
    .sort((a, b) => a.entry.relativeOffsetOfLocalHeader - b.entry.relativeOffsetOfLocalHeader);
  for (const { entry, checked } of files) {
    const where = { entry: checked.path };
    const keep = isParsedTextFile(checked.path);
    if (keep && checked.size > limits.maxTextFileBytes) {
      throw packError('PCG_ERR_PACK_TOO_LARGE', 'text-file-size', `is ${checked.size} bytes; text files are parsed in memory and limited to ${limits.maxTextFileBytes}`, where);
    }
    const chunks: Buffer[] = [];
    let count = 0;
    let crc = 0;
    let head = Buffer.alloc(0);
    try {
      const stream = await zip.openReadStreamPromise(entry);
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        count += chunk.length;
        total += chunk.length;
        // The declared size passed every limit; the data may still inflate without end. Stop at
        // the first byte over the declaration (leaving the for-await destroys the inflate stream).
        if (count > checked.size) throw packError('PCG_ERR_PACK_ARCHIVE', 'size-mismatch', `inflates to more than the ${checked.size} bytes its header declares (a zip bomb)`, where);
        if (total > limits.maxExpandedBytes) throw packError('PCG_ERR_PACK_TOO_LARGE', 'expanded-size', `entries expand to more than ${limits.maxExpandedBytes} bytes in total`, where);
        crc = crc32(chunk, crc);
        if (head.length < HEAD_BYTES) head = Buffer.concat([head, chunk.subarray(0, HEAD_BYTES - head.length)]);
        if (keep) chunks.push(chunk);
      }
    } catch (err) {
      if (err instanceof PackError) throw err;
      throw new PackError('PCG_ERR_PACK_ARCHIVE', [{ ...where, rule: 'corrupt-data', message: `cannot be inflated: ${(err as Error).message}` }], { cause: err });
    }
    if (count !== checked.size) throw packError('PCG_ERR_PACK_ARCHIVE', 'size-mismatch', `inflates to ${count} bytes, not the ${checked.size} its header declares`, where);
    if (crc !== checked.crc32) throw packError('PCG_ERR_PACK_ARCHIVE', 'crc-mismatch', 'its data does not match its CRC-32 (damaged or altered)', where);
    heads.set(checked.path, head);
    if (keep) {
      try {
        texts.set(checked.path, decoder.decode(Buffer.concat(chunks, count)));
      } catch (err) {
        throw new PackError('PCG_ERR_PACK_INVALID', [{ ...where, rule: 'not-utf8', message: 'text files must be UTF-8' }], { cause: err });
      }
    }
  }
  return { texts, heads };
}
