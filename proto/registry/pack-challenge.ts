import type { FastifyReply, FastifyRequest, onSendAsyncHookHandler } from 'fastify';
import type { RegistryAction, RegistryAuth, RegistryNeed } from './registry-auth.js';

/** What pack-routes.ts authorises against when a request names no pack (list, upload without `?name=`). */
const ALL_PACKS = 'packs/*';

/**
 * A `/v1/packs` 401 carries the same challenge as `/v2/` (RFC 7235: a 401 must say how to
 * authenticate): `Bearer realm="<base>/v2/token",service="…",scope="repository:packs/<name>:<actions>"`,
 * so a client that speaks the token flow knows where to get a token and for what, and one that
 * does not still learns the registry wants credentials. Add it as an `onSend` hook of the scope
 * holding the pack routes; a reply that set its own challenge keeps it.
 */
export function packChallengeHook(auth: RegistryAuth): onSendAsyncHookHandler {
  return async (request, reply, payload) => {
    challengePackRequest(auth, request, reply);
    return payload;
  };
}

/** What the hook does, for a scope that serves more than the pack routes (the relay's). */
export function challengePackRequest(auth: RegistryAuth, request: FastifyRequest, reply: FastifyReply): void {
  if (reply.statusCode === 401 && !reply.hasHeader('www-authenticate')) {
    void reply.header('www-authenticate', auth.challenge(baseUrl(request), packNeeds(request)));
  }
}

/** The need of a pack request as pack-routes.ts checks it; writes ask `pull,push` as OCI clients expect. */
export function packNeeds(request: FastifyRequest): RegistryNeed[] {
  const name = (request.params as { name?: unknown } | undefined)?.name;
  const fromQuery = (request.query as { name?: unknown } | undefined)?.name;
  const pack = typeof name === 'string' ? name : typeof fromQuery === 'string' ? fromQuery : undefined;
  const repository = pack === undefined ? ALL_PACKS : `packs/${pack}`;
  const actions: RegistryAction[] = request.method === 'GET' || request.method === 'HEAD' ? ['pull'] : request.method === 'DELETE' ? ['delete'] : ['pull', 'push'];
  return actions.map((action) => ({ repository, action }));
}

/** The base URL the client used (the realm must be one it can reach), as the OCI routes build it. */
function baseUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.headers.host ?? request.hostname}`;
}
