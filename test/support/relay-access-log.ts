import type { RelayProcess } from './relay-fixture.js';
import { sleep, waitFor } from './wait-for.js';

interface RequestLine { msg?: string; req?: { method?: string; url?: string } }

/**
 * How many times the relay process itself logged receiving `GET <path>` (fastify's per-request
 * "incoming request" line on its stdout): what crossed the wire as the relay saw it, not what the
 * gateway reports about itself.
 */
export function relayGets(relay: RelayProcess, path: string): number {
  let n = 0;
  for (const line of relay.logs.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as RequestLine;
    if (entry.msg === 'incoming request' && entry.req?.method === 'GET' && entry.req.url === path) n++;
  }
  return n;
}

/** The count once the relay's log has caught up: waits for at least `atLeast`, then a quiet moment for any late line. */
export async function settledRelayGets(relay: RelayProcess, path: string, atLeast = 1): Promise<number> {
  await waitFor(`the relay logged GET ${path}`, () => relayGets(relay, path) >= atLeast || undefined, 10_000);
  await sleep(300);
  return relayGets(relay, path);
}
