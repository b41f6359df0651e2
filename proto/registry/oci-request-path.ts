/** Which endpoint of the distribution API a path names (v1.1, "API": endpoints end-1 … end-13). */
export type OciEndpoint =
  | { readonly kind: 'base' }
  | { readonly kind: 'token' }
  | { readonly kind: 'catalog' }
  | { readonly kind: 'tags'; readonly name: string }
  | { readonly kind: 'manifest'; readonly name: string; readonly reference: string }
  | { readonly kind: 'uploads'; readonly name: string }
  | { readonly kind: 'upload'; readonly name: string; readonly id: string }
  | { readonly kind: 'blob'; readonly name: string; readonly digest: string }
  | { readonly kind: 'referrers'; readonly name: string; readonly digest: string };

/**
 * Repository names contain slashes, so the endpoint is told by the path's suffix; the name is
 * what precedes it (checked against the name grammar by the caller). Segments are percent-decoded.
 */
const SUFFIXES: ReadonlyArray<readonly [RegExp, (name: string, arg: string) => OciEndpoint]> = [
  [/^(.+)\/tags\/list$/, (name) => ({ kind: 'tags', name })],
  [/^(.+)\/manifests\/([^/]+)$/, (name, reference) => ({ kind: 'manifest', name, reference })],
  [/^(.+)\/blobs\/uploads\/?$/, (name) => ({ kind: 'uploads', name })],
  [/^(.+)\/blobs\/uploads\/([^/]+)$/, (name, id) => ({ kind: 'upload', name, id })],
  [/^(.+)\/blobs\/([^/]+)$/, (name, digest) => ({ kind: 'blob', name, digest })],
  [/^(.+)\/referrers\/([^/]+)$/, (name, digest) => ({ kind: 'referrers', name, digest })],
];

/** The endpoint of a request URL (path and query), or undefined when it names none. */
export function ociEndpoint(url: string): OciEndpoint | undefined {
  const path = url.split('?', 1)[0]!;
  if (path === '/v2' || path === '/v2/') return { kind: 'base' };
  if (!path.startsWith('/v2/')) return undefined;
  const rest = path.slice('/v2/'.length);
  if (rest === 'token') return { kind: 'token' };
  if (rest === '_catalog') return { kind: 'catalog' };
  for (const [pattern, make] of SUFFIXES) {
    const match = pattern.exec(rest);
    if (!match) continue;
    try {
      return make(decodeURIComponent(match[1]!), decodeURIComponent(match[2] ?? ''));
    } catch {
      return undefined; // malformed percent-encoding
    }
  }
  return undefined;
}
