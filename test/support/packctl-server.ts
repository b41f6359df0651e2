/**
 * A pack registry for the pack API and packctl tests: the real FsContentStore, PackRegistry and
 * pack routes on the gateway's own HTTPS server (node-forge certificate from its state dir), with a
 * small authorizer: Basic `ops:ops-secret` may do anything, `reader:reader-secret` may only pull.
 * With `tokens`, `/v2/` answers 401 with a Bearer challenge and `/v2/token` speaks the token spec:
 * GET with Basic (and `offline_token=true`: a `refresh_token` too), POST `grant_type=refresh_token`
 * for a fresh access token; access tokens are accepted like their user.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { pino } from 'pino';
import { systemClock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { FsContentStore } from '../../proto/registry/fs-content-store.js';
import { PackRegistry } from '../../proto/registry/pack-registry.js';
import { packRoutes, type PackAction } from '../../proto/registry/pack-routes.js';
import { GatewayHttpsServer } from '../../gateway/http/gateway-https-server.js';
import { tempDir } from './temp-dir.js';

export const USERS: Record<string, { password: string; actions: readonly PackAction[] }> = {
  ops: { password: 'ops-secret', actions: ['pull', 'push', 'delete'] },
  reader: { password: 'reader-secret', actions: ['pull'] },
};

export interface PackServer {
  readonly url: string;
  readonly caFile: string;
  readonly store: FsContentStore;
  readonly registry: PackRegistry;
  readonly dir: string;
  /** Every authorisation asked, `action repository`, in order. */
  readonly asked: string[];
  /** The scope of every refresh-token grant. */
  readonly refreshTokensUsed: string[];
  close(): Promise<void>;
}

export async function startPackServer(options: { readonly tokens?: boolean; readonly maxArchiveBytes?: number } = {}): Promise<PackServer> {
  const dir = tempDir('pack-server');
  const store = await FsContentStore.open(join(dir.path, 'store'));
  const registry = await PackRegistry.create(store, { dir: join(dir.path, 'packs'), ...(options.maxArchiveBytes ? { limits: { maxArchiveBytes: options.maxArchiveBytes } } : {}) });
  mkdirSync(join(dir.path, 'state'), { mode: 0o700 });
  const server = await GatewayHttpsServer.create({ host: '127.0.0.1', port: 0, publicUrl: null, certFile: null, keyFile: null, stateDir: join(dir.path, 'state') },
    { clock: systemClock, log: pino({ level: 'silent' }) });
  const tokens = new Map<string, string>();
  const asked: string[] = [];
  const refreshTokensUsed: string[] = [];
  const userOf = (request: FastifyRequest): string | undefined => {
    const header = request.headers.authorization ?? '';
    if (header.startsWith('Bearer ')) return tokens.get(header.slice(7));
    if (!header.startsWith('Basic ')) return undefined;
    const [user, password] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
    return user !== undefined && USERS[user]?.password === password ? user : undefined;
  };
  const authorize = (request: FastifyRequest, access: { repository: string; action: PackAction }) => {
    asked.push(`${access.action} ${access.repository}`);
    const user = userOf(request);
    if (user === undefined) throw new PcgError('PCG_ERR_UNAUTHENTICATED', 'log in first');
    if (!USERS[user]!.actions.includes(access.action)) throw new PcgError('PCG_ERR_FORBIDDEN', `${user} may not ${access.action} ${access.repository}`);
  };
  await server.app.register(packRoutes, { registry, authorize });
  if (options.tokens) {
    server.app.get('/v2/', (_request, reply) => reply.code(401).header('www-authenticate', 'Bearer realm="/v2/token",service="pcg-test"').send({ errors: [] }));
    const refreshTokens = new Map<string, string>();
    const issue = (user: string) => {
      const token = randomBytes(16).toString('hex');
      tokens.set(token, user);
      return token;
    };
    server.app.get<{ Querystring: { offline_token?: string } }>('/v2/token', (request, reply) => {
      const user = userOf(request);
      if (user === undefined) return reply.code(401).send({ code: 'PCG_ERR_UNAUTHENTICATED', message: 'bad credentials' });
      const token = issue(user);
      if (request.query.offline_token !== 'true') return { token, access_token: token };
      const refresh = randomBytes(16).toString('hex');
      refreshTokens.set(refresh, user);
      return { token, access_token: token, refresh_token: refresh };
    });
    server.app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    server.app.post<{ Body: Record<string, string> }>('/v2/token', (request, reply) => {
      const user = request.body.grant_type === 'refresh_token' ? refreshTokens.get(request.body.refresh_token ?? '') : undefined;
      if (user === undefined) return reply.code(401).send({ code: 'PCG_ERR_UNAUTHENTICATED', message: 'bad refresh token' });
      refreshTokensUsed.push(request.body.scope ?? '');
      return { access_token: issue(user) };
    });
  }
  await server.listen();
  const caFile = join(dir.path, 'ca.pem');
  writeFileSync(caFile, server.caPem);
  return {
    url: server.url, caFile, store, registry, dir: dir.path, asked, refreshTokensUsed,
    close: async () => {
      await server.close();
      registry.close();
      await store.close();
      dir.remove();
    },
  };
}
