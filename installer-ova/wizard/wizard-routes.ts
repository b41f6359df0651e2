import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TSchema, Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PcgError } from '../../proto/errors.js';
import { checkNetwork } from '../setup/network-check.js';
import { checkNtp } from '../setup/ntp-check.js';
import { checkPairingCode } from '../setup/pairing-code-check.js';
import { checkProxy } from '../setup/proxy-check.js';
import { checkRelay } from '../setup/relay-check.js';
import { validateSettings } from '../setup/settings-file.js';
import { NetworkSettings, SetupSettings, VcenterSettings } from '../setup/setup-settings.js';
import { checkVcenterSettings } from '../setup/vcenter-check.js';
import type { FailureLimiter } from './failure-limiter.js';
import type { SetupToken } from '../setup/setup-token.js';
import { NtpCheckRequest, PairingCodeCheckRequest, ProxyCheckRequest, RelayCheckRequest, type CheckReport, type WizardState } from './wizard-api.js';
import type { WizardStateFeed } from './wizard-state-feed.js';

/** The page: built next to this module (the Makefile copies wizard/static/ into dist). */
const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.ico': 'image/x-icon', '.woff2': 'font/woff2', '.txt': 'text/plain; charset=utf-8',
};

/** No inline script or style, nothing from elsewhere, never framed. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
});

export interface WizardRouteDeps {
  readonly feed: WizardStateFeed;
  readonly token: SetupToken;
  readonly limiter: FailureLimiter;
  /** Runs setup once; the server keeps it to one at a time and moves the phase. */
  readonly setup: (settings: SetupSettings) => Promise<CheckReport>;
}

export function sendError(reply: FastifyReply, error: PcgError, field?: string): FastifyReply {
  return reply.code(error.httpStatus).send({ code: error.code, message: error.message, ...(field ? { field } : {}) });
}

/**
 * The routes of wizard-api.ts. Public: the page, GET /api/state and its SSE feed. Everything under
 * /api/check and /api/setup: 409 PCG_ERR_SETUP_COMPLETE once setup is done (whatever the token),
 * else 429 PCG_ERR_RATE_LIMITED while the address is locked out by wrong tokens, else 401
 * PCG_ERR_SETUP_TOKEN without the right `Authorization: Bearer <token>`; only then is the body read.
 */
export function registerWizardRoutes(app: FastifyInstance, deps: WizardRouteDeps): void {
  app.addHook('onRequest', async (request, reply) => {
    void reply.headers(SECURITY_HEADERS);
    if (request.url.startsWith('/api/')) void reply.header('cache-control', 'no-store');
  });

  const guard = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (await deps.feed.refreshPhase() === 'configured' || deps.token.spent) {
      await sendError(reply, new PcgError('PCG_ERR_SETUP_COMPLETE', 'setup is complete; the wizard only shows the gateway status now'));
      return;
    }
    const wait = deps.limiter.retryAfterMs(request.ip);
    if (wait > 0) {
      void reply.header('retry-after', String(Math.ceil(wait / 1000)));
      await sendError(reply, new PcgError('PCG_ERR_RATE_LIMITED', `too many wrong setup tokens from ${request.ip}; retry in ${Math.ceil(wait / 1000)} s`));
      return;
    }
    const header = request.headers.authorization ?? '';
    const presented = /^Bearer\s+(.+)$/i.exec(header)?.[1];
    if (!deps.token.matches(presented)) {
      if (presented !== undefined) deps.limiter.recordFailure(request.ip);
      void reply.header('www-authenticate', 'Bearer realm="pcg-installer"');
      await sendError(reply, new PcgError('PCG_ERR_SETUP_TOKEN', presented === undefined ? 'no setup token sent' : 'wrong setup token'));
    }
  };

  /** `prefix` names fields as the setup form does: the vCenter check's `password` is `vcenter.password`. */
  const check = <S extends TSchema>(path: string, schema: S, run: (body: Static<S>) => Promise<CheckReport>, prefix = ''): void => {
    app.post(path, { onRequest: guard }, async (request, reply) => {
      const body = parseBody(schema, request.body, prefix);
      if (body instanceof PcgError) return sendError(reply, body, (body as PcgError & { field?: string }).field);
      return run(body);
    });
  };
  check('/api/check/relay', RelayCheckRequest, (b) => checkRelay(b));
  check('/api/check/pairing-code', PairingCodeCheckRequest, (b) => checkPairingCode(b));
  check('/api/check/proxy', ProxyCheckRequest, (b) => checkProxy(b));
  check('/api/check/network', NetworkSettings, (b) => checkNetwork(b), 'network.');
  check('/api/check/ntp', NtpCheckRequest, (b) => checkNtp(b));
  check('/api/check/vcenter', VcenterSettings, (b) => checkVcenterSettings(b), 'vcenter.');
  check('/api/setup', SetupSettings, (b) => deps.setup(b));

  app.get('/api/state', (): Promise<WizardState> => deps.feed.current());

  app.get('/api/state/events', async (request, reply) => {
    const first = await deps.feed.current();
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    const send = (state: WizardState): void => {
      res.write(`event: state\ndata: ${JSON.stringify(state)}\n\n`);
    };
    send(first);
    const unsubscribe = deps.feed.subscribe(send);
    request.raw.once('close', unsubscribe);
  });

  app.get('/', (_request, reply) => sendStatic(reply, 'index.html'));
  app.get('/*', (request, reply) => sendStatic(reply, (request.params as { '*': string })['*']));
}

function parseBody<S extends TSchema>(schema: S, body: unknown, prefix: string): Static<S> | PcgError {
  try {
    return validateSettings(schema, body ?? {}, 'body', prefix);
  } catch (err) {
    const field = (err as { field?: string }).field;
    return Object.assign(new PcgError('PCG_ERR_BAD_REQUEST', (err as PcgError).detail ?? 'invalid body'), { field });
  }
}

/** Files of wizard/static/ by their path; nothing outside it, no dot files. */
async function sendStatic(reply: FastifyReply, path: string): Promise<FastifyReply> {
  const safe = path.split('/').every((part) => /^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(part));
  const file = resolve(STATIC_DIR, path);
  if (!safe || !file.startsWith(STATIC_DIR.endsWith(sep) ? STATIC_DIR : STATIC_DIR + sep)) return notFound(reply);
  let content: Buffer;
  try {
    content = await readFile(file);
  } catch {
    return notFound(reply);
  }
  return reply.header('content-type', CONTENT_TYPES[extname(file)] ?? 'application/octet-stream').header('cache-control', 'no-cache').send(content);
}

function notFound(reply: FastifyReply): FastifyReply {
  return sendError(reply, new PcgError('PCG_ERR_NOT_FOUND', 'no such page or route on the installer wizard'));
}
