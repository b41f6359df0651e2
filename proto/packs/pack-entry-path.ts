/**
 * Archive paths. Every check here runs on the name in the zip's central directory before any
 * byte of the entry is read, and again on every path pack.json names, so an entry that passed is
 * safe to join under any extraction directory on Linux, macOS and Windows alike.
 */

/** Why a path is refused, or the canonical form of an accepted one. */
export type EntryPathResult =
  | { readonly ok: true; readonly path: string; readonly directory: boolean }
  | { readonly ok: false; readonly rule: string; readonly message: string };

/** Longest path accepted, in UTF-16 units; far above any chart, short enough for every filesystem. */
export const MAX_ENTRY_PATH_LENGTH = 512;

/**
 * Checks one archive path and gives its canonical form: `a//b` and `./a/b` become `a/b` (so the
 * duplicate check sees them as one), Unicode is NFC (macOS writes NFD, Linux keeps bytes).
 * Refused: absolute paths (`/etc/x`), drive letters (`C:x`, `C:/x`) and UNC prefixes, backslashes
 * (Windows extractors treat `..\x` as traversal), `..` segments anywhere (zip-slip), NUL and other
 * control characters (C string truncation turns `a.yaml\0../x` into something else).
 */
export function checkEntryPath(raw: string): EntryPathResult {
  if (raw.length === 0) return refuse('empty-path', 'the path is empty');
  if (raw.length > MAX_ENTRY_PATH_LENGTH) return refuse('path-too-long', `the path is longer than ${MAX_ENTRY_PATH_LENGTH} characters`);
  if (/[\u0000-\u001f\u007f]/.test(raw)) return refuse('control-character', 'the path contains a control character');
  if (raw.includes('\\')) return refuse('backslash', 'the path contains a backslash, which Windows extractors read as a separator');
  if (raw.startsWith('/')) return refuse('absolute-path', 'the path is absolute');
  if (/^[A-Za-z]:/.test(raw)) return refuse('drive-letter', 'the path starts with a drive letter');
  const directory = raw.endsWith('/');
  const segments = raw.normalize('NFC').split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return refuse('path-traversal', "the path has a '..' segment");
  if (segments.length === 0) return refuse('empty-path', 'the path names the archive root');
  return { ok: true, path: segments.join('/'), directory };
}

/**
 * The key two paths collide on once extracted: case-insensitive filesystems (macOS, Windows)
 * write `Values.yaml` and `values.yaml` to one file, so whichever comes last wins, and what was
 * validated is not what is used.
 */
export function collisionKey(canonicalPath: string): string {
  return canonicalPath.normalize('NFC').toLowerCase();
}

function refuse(rule: string, message: string): EntryPathResult {
  return { ok: false, rule, message };
}
