import { createHash } from 'node:crypto';

/**
 * One digest for a whole pack index, the same on the gateway (what it reports) and on the relay
 * (what it stores): sha256 over `name version digest\n` lines in byte order of name, then version.
 * Layer and cloud types are descriptive; the archive digest pins the content.
 */
export function packIndexDigest(entries: Iterable<{ readonly name: string; readonly version: string; readonly digest: string }>): string {
  const lines = [...entries].map((e) => `${e.name} ${e.version} ${e.digest}\n`).sort(byBytes);
  const hash = createHash('sha256');
  for (const line of lines) hash.update(line);
  return `sha256:${hash.digest('hex')}`;
}

function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
