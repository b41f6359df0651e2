import { getFileNameLowLevel, type Entry } from 'yauzl';
import { checkEntryPath } from './pack-entry-path.js';
import { packError } from './pack-error.js';
import type { PackLimits } from './pack-limits.js';

/** One archive entry that passed every header check. */
export interface PackEntry {
  /** Canonical path (`a/b`, no trailing slash), the name to extract and look up by. */
  readonly path: string;
  readonly directory: boolean;
  /** Expanded bytes, as declared and then verified while streaming. */
  readonly size: number;
  readonly compressedSize: number;
  readonly crc32: number;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const STORED = 0;
const DEFLATED = 8;

/**
 * Checks one central-directory record, before any of its data is read: its name, its Unix file
 * type, encryption, compression method and declared sizes. Throws a PackError naming the entry.
 */
export function checkZipEntry(entry: Entry, limits: Readonly<Required<PackLimits>>): PackEntry {
  // decodeStrings is off, so yauzl's own name check (one generic Error) is skipped and ours runs,
  // with a code and the rule broken. strictFileNames: true keeps backslashes for us to refuse.
  const name = getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
  const plainName = getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, [], true);
  const label = JSON.stringify(name).slice(1, -1);
  if (name !== plainName) {
    // An Info-ZIP Unicode Path field that disagrees with the raw name: extractors that honour the
    // field and those that do not would write two different files; only one of them was checked.
    throw packError('PCG_ERR_PACK_ARCHIVE', 'ambiguous-name', `the Unicode path field says '${name}' but the name is '${plainName}'`, { entry: label });
  }
  const checked = checkEntryPath(name);
  if (!checked.ok) throw packError('PCG_ERR_PACK_ARCHIVE', checked.rule, checked.message, { entry: label });
  const where = { entry: checked.path };

  // The high 16 bits of the external attributes are the Unix st_mode when the archiver set them
  // (Info-ZIP, Go, Python, yazl). `unzip` and most libraries recreate symlinks and FIFOs from it:
  // a symlink `charts -> /etc` plus a file `charts/passwd` writes outside the target directory.
  const mode = (entry.externalFileAttributes >>> 16) & 0xffff;
  const type = mode & S_IFMT;
  if (type === S_IFLNK) throw packError('PCG_ERR_PACK_ARCHIVE', 'symlink', 'symbolic links are not allowed in a pack', where);
  if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) {
    throw packError('PCG_ERR_PACK_ARCHIVE', 'special-file', `device, FIFO and socket entries are not allowed (mode ${mode.toString(8)})`, where);
  }
  if ((type === S_IFDIR) !== checked.directory && type !== 0) {
    throw packError('PCG_ERR_PACK_ARCHIVE', 'type-mismatch', 'the entry name and its file type disagree on whether it is a directory', where);
  }
  if (entry.isEncrypted()) throw packError('PCG_ERR_PACK_ARCHIVE', 'encrypted', 'encrypted entries cannot be checked and are not allowed', where);
  if (entry.compressionMethod !== STORED && entry.compressionMethod !== DEFLATED) {
    throw packError('PCG_ERR_PACK_ARCHIVE', 'compression-method', `compression method ${entry.compressionMethod} is not supported (stored or deflate only)`, where);
  }
  if (checked.directory && (entry.uncompressedSize !== 0 || entry.compressedSize !== 0)) {
    throw packError('PCG_ERR_PACK_ARCHIVE', 'directory-with-data', 'a directory entry carries data', where);
  }
  if (entry.compressionMethod === STORED && entry.compressedSize !== entry.uncompressedSize) {
    throw packError('PCG_ERR_PACK_ARCHIVE', 'size-mismatch', `stored entry declares ${entry.compressedSize} bytes stored but ${entry.uncompressedSize} expanded`, where);
  }
  if (entry.uncompressedSize > limits.maxExpandedBytes) {
    throw packError('PCG_ERR_PACK_TOO_LARGE', 'expanded-size', `declares ${entry.uncompressedSize} bytes expanded, above the limit of ${limits.maxExpandedBytes}`, where);
  }
  checkRatio(entry.uncompressedSize, entry.compressedSize, checked.path, limits);
  return { path: checked.path, directory: checked.directory, size: entry.uncompressedSize, compressedSize: entry.compressedSize, crc32: entry.crc32 };
}

/** The ratio bound, on declared sizes here and on the bytes really inflated while streaming. */
export function checkRatio(expanded: number, compressed: number, path: string, limits: Readonly<Required<PackLimits>>): void {
  if (expanded < limits.ratioFloorBytes) return;
  if (expanded > Math.max(compressed, 1) * limits.maxCompressionRatio) {
    throw packError('PCG_ERR_PACK_TOO_LARGE', 'compression-ratio',
      `expands ${expanded} bytes from ${compressed}, a ratio above ${limits.maxCompressionRatio}:1 (a zip bomb)`, { entry: path });
  }
}
