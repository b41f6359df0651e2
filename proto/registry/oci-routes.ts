import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PcgError } from '../errors.js';
import { deleteBlob, deleteUpload, getBlob, getUpload, patchUpload, postUpload, putUpload } from './oci-blob-handlers.js';
import { DEFAULT_OCI_ROUTES_OPTIONS, queryValue, queryValues, type OciContext, type OciHandler, type OciRoutesOptions } from './oci-context.js';
import { isRepositoryName } from './oci-grammar.js';
import { deleteManifest, getManifest, listReferrers, listTags, putManifest } from './oci-manifest-handlers.js';
import { ociEndpoint, type OciEndpoint } from './oci-request-path.js';
import type { RegistryNeed, RegistryPrincipal } from './registry-auth.js';
import { RegistryError } from './registry-error.js';

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type RepoEndpoint = Exclude<OciEndpoint, { kind: 'base' | 'token' | 'catalog' }>;

/** Which handler serves a (endpoint, method) pair; a pair not listed is 405. */
const HANDLERS: { readonly [K in RepoEndpoint['kind']]: Partial<Record<Method, OciHandler<Extract<OciEndpoint, { kind: K }>>>> } = {
  tags: { GET: listTags },
  manifest: { GET: getManifest, HEAD: getManifest, PUT: putManifest, DELETE: deleteManifest },
  uploads: { POST: postUpload },
  upload: { GET: getUpload, PATCH: patchUpload, PUT: putUpload, DELETE: deleteUpload },
  blob: { GET: getBlob, HEAD: getBlob, DELETE: deleteBlob },
  referrers: { GET: listReferrers },
};

/** What a method needs on the repository; challenges for writes ask `pull,push` as clients expect. */
function needsOf(method: Method, endpoint: RepoEndpoint, request: FastifyRequest): { needs: RegistryNeed[]; challenge: RegistryNeed[] } {
  const repository = endpoint.name;
  if (method === 'GET' || method === 'HEAD') return { needs: [{ repository, action: 'pull' }], challenge: [{ repository, action: 'pull' }] };
  if (method === 'DELETE' && endpoint.kind !== 'upload') return { needs: [{ repository, action: 'delete' }], challenge: [{ repository, action: 'delete' }] };
  const challenge: RegistryNeed[] = [{ repository, action: 'pull' }, { repository, action: 'push' }];
  const from = endpoint.kind === 'uploads' ? queryValue(request, 'from') : undefined;
  if (from !== undefined && isRepositoryName(from)) challenge.push({ repository: from, action: 'pull' });
  return { needs: [{ repository, action: 'push' }], challenge };
}

/**
 * The OCI distribution API v1.1 under `/v2/` as a fastify plugin (register it unwrapped: its
 * content-type parser, hooks and error handler stay inside). Bodies are never parsed here: blob
 * uploads stream from the request into the store, manifests are read up to maxManifestBytes.
 */
export function ociRoutes(app: FastifyInstance, options: Partial<OciRoutesOptions> & Pick<OciRoutesOptions, 'store' | 'auth'>, done: (err?: Error) => void): void {
  const opts: OciRoutesOptions = Object.freeze({ ...DEFAULT_OCI_ROUTES_OPTIONS, ...options });
  // Pass every body through untouched (raw request stream), whatever its type: so no body limit applies here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  app.addHook('onRequest', async (_request, reply) => {
    void reply.header('docker-distribution-api-version', 'registry/2.0');
  });
  app.setErrorHandler((err: Error, request, reply) => {
    const error = err instanceof RegistryError ? err : fromOther(err);
    if (error.status >= 500) opts.log?.error({ err, method: request.method, url: request.url.split('?')[0] }, 'registry request failed');
    if (error.status === 401 && !reply.hasHeader('www-authenticate') && opts.auth) {
      void reply.header('www-authenticate', opts.auth.challenge(baseUrl(request), []));
    }
    void reply.code(error.status).type('application/json').send(error.toBody());
  });

  const serve = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const method = request.method as Method;
    const endpoint = ociEndpoint(request.url);
    if (!endpoint) throw new RegistryError('UNSUPPORTED', `no such endpoint: ${request.url.split('?')[0]}`, { status: 404 });
    if (endpoint.kind === 'token') {
      if (method !== 'GET') throw notAllowed(method, 'the token endpoint');
      return issueToken(opts, request, reply);
    }
    const principal = await authenticate(opts, request, reply);
    if (endpoint.kind === 'base') {
      if (method !== 'GET' && method !== 'HEAD') throw notAllowed(method, '/v2/');
      if (opts.auth && !principal) return challenge(opts, request, reply, []);
      return reply.type('application/json').send('{}');
    }
    if (endpoint.kind === 'catalog') {
      if (method !== 'GET') throw notAllowed(method, '/v2/_catalog');
      if (opts.auth && !principal) return challenge(opts, request, reply, []);
      return catalog(opts, principal, request, reply);
    }
    if (!isRepositoryName(endpoint.name)) throw new RegistryError('NAME_INVALID', `"${endpoint.name}" is not a valid repository name`, { detail: { name: endpoint.name } });
    const handler = (HANDLERS[endpoint.kind] as Partial<Record<Method, OciHandler<RepoEndpoint>>>)[method];
    if (!handler) throw notAllowed(method, endpoint.kind);
    if (method === 'DELETE' && endpoint.kind !== 'upload' && !opts.deleteEnabled) throw new RegistryError('UNSUPPORTED', 'deletes are disabled on this registry');
    const { needs, challenge: asked } = needsOf(method, endpoint, request);
    if (opts.auth) {
      if (!principal) return challenge(opts, request, reply, asked);
      if (!needs.every((need) => opts.auth!.allows(principal, need))) {
        // A token with too narrow a scope: the client fetches a wider one. A password that may not: denied.
        if (principal.via === 'token') return challenge(opts, request, reply, asked, 'insufficient_scope');
        throw new RegistryError('DENIED', `${principal.subject} may not ${needs.map((n) => n.action).join(', ')} ${endpoint.name}`, { detail: { name: endpoint.name } });
      }
    }
    const ctx: OciContext = { options: opts, principal, canPull: (repo) => !opts.auth || (principal !== null && opts.auth.allows(principal, { repository: repo, action: 'pull' })) };
    return handler(ctx, endpoint, request, reply);
  };
  app.route({ method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'], url: '/v2', exposeHeadRoute: false, handler: serve });
  app.route({ method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'], url: '/v2/*', exposeHeadRoute: false, handler: serve });
  done();
}

/** The base URL the client used (the token realm must be one it can reach). */
const baseUrl = (request: FastifyRequest): string => `${request.protocol}://${request.headers.host ?? request.hostname}`;

const notAllowed = (method: string, what: string): RegistryError => new RegistryError('UNSUPPORTED', `${method} is not supported on ${what}`);

async function authenticate(opts: OciRoutesOptions, request: FastifyRequest, reply: FastifyReply): Promise<RegistryPrincipal | null> {
  if (!opts.auth) return null;
  try {
    return (await limited(opts, request, reply, () => opts.auth!.principal(request.headers.authorization))) ?? null;
  } catch (err) {
    if (err instanceof RegistryError && err.ociCode === 'UNAUTHORIZED') void reply.header('www-authenticate', opts.auth.challenge(baseUrl(request), [], 'invalid_token'));
    throw err;
  }
}

/** Runs an authentication; its failures spend the address's budget, and an address without budget is not even checked. */
async function limited<T>(opts: OciRoutesOptions, request: FastifyRequest, reply: FastifyReply, check: () => Promise<T>): Promise<T> {
  const limiter = opts.authLimiter;
  if (!limiter || !request.headers.authorization) return check();
  const waitMs = limiter.retryAfterMs(request.ip);
  if (waitMs > 0) {
    void reply.header('retry-after', Math.ceil(waitMs / 1000));
    throw new RegistryError('TOOMANYREQUESTS', 'too many failed authentications from this address; wait for Retry-After seconds', { detail: { retryAfterSeconds: Math.ceil(waitMs / 1000) } });
  }
  try {
    return await check();
  } catch (err) {
    if (err instanceof RegistryError && err.ociCode === 'UNAUTHORIZED') limiter.failed(request.ip);
    throw err;
  }
}

function challenge(opts: OciRoutesOptions, request: FastifyRequest, reply: FastifyReply, needs: RegistryNeed[], error?: 'insufficient_scope'): never {
  void reply.header('www-authenticate', opts.auth!.challenge(baseUrl(request), needs, error));
  throw new RegistryError('UNAUTHORIZED', 'authentication required', { detail: needs.map((n) => ({ Type: 'repository', Name: n.repository, Action: n.action })) });
}

/** GET /v2/token?service=&scope=…: basic credentials in, a bearer token out (the token spec's JSON). */
async function issueToken(opts: OciRoutesOptions, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (!opts.auth) throw new RegistryError('UNSUPPORTED', 'this registry has no authentication', { status: 404 });
  try {
    const auth = opts.auth;
    const issued = await limited(opts, request, reply, () => auth.issueToken(request.headers.authorization, queryValues(request, 'scope')));
    return reply.type('application/json').send(issued);
  } catch (err) {
    if (err instanceof RegistryError && err.ociCode === 'UNAUTHORIZED') void reply.header('www-authenticate', `Basic realm="${opts.auth.options.service}"`);
    throw err;
  }
}

/** GET /v2/_catalog (optional in the spec): the repositories the caller may pull, paginated as tags are. */
async function catalog(opts: OciRoutesOptions, principal: RegistryPrincipal | null, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const nText = queryValue(request, 'n');
  const n = nText !== undefined && /^\d+$/.test(nText) ? Number(nText) : 1000;
  const last = queryValue(request, 'last') ?? '';
  const visible = (repo: string): boolean => !opts.auth || (principal !== null && opts.auth.allows(principal, { repository: repo, action: 'pull' }));
  const repositories = (await opts.store.listRepositories({ last })).filter(visible);
  if (repositories.length > n) {
    repositories.length = n;
    void reply.header('link', `</v2/_catalog?n=${n}&last=${encodeURIComponent(repositories[n - 1]!)}>; rel="next"`);
  }
  return reply.type('application/json').send({ repositories });
}

/** Errors that are not the registry's own: a PcgError keeps its status, fastify's 4xx are the client's, the rest is 500. */
function fromOther(err: Error & { statusCode?: number }): RegistryError {
  if (err instanceof PcgError) return new RegistryError(err.httpStatus === 404 ? 'NAME_UNKNOWN' : 'UNSUPPORTED', err.message, { status: err.httpStatus, cause: err });
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return new RegistryError('UNSUPPORTED', err.message, { status: err.statusCode, cause: err });
  return new RegistryError('UNKNOWN', 'internal registry error', { cause: err });
}
