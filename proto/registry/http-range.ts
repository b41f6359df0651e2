/** A byte range, end inclusive (as HTTP and the ContentStore have it). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * A request's `Range: bytes=…` against a blob of `size` bytes (RFC 9110 §14.1.2): `start-end`,
 * `start-` or `-suffix`. Undefined: no usable single range, serve the whole blob (several ranges
 * are allowed to be ignored). `unsatisfiable`: 416 with `Content-Range: bytes *\/size`.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || (match[2] !== '' && Number(match[2]) < start)) return 'unsatisfiable';
  return { start, end };
}

/**
 * A chunk's `Content-Range: <start>-<end>` (the distribution spec's form, no unit). Undefined when
 * absent (a streamed chunk: it goes at the end); 'invalid' when malformed.
 */
export function parseChunkRange(header: string | undefined): ByteRange | 'invalid' | undefined {
  if (header === undefined) return undefined;
  const match = /^(?:bytes )?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!match) return 'invalid';
  const start = Number(match[1]);
  const end = Number(match[2]);
  return end < start ? 'invalid' : { start, end };
}

/** The `Range` header of an upload of `size` bytes: `0-<last byte>` (`0-0` when empty, as distribution does). */
export const uploadRange = (size: number): string => `0-${Math.max(0, size - 1)}`;
