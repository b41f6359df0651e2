/**
 * packctl's HTTPS client for one registry: trust (the registry's CA from --ca-file, else the
 * system CAs; verification off only with --insecure), credentials (a token as Bearer, else Basic),
 * and errors turned into PcgErrors: the registry's own `{code, message, issues}` as sent, network
 * and TLS failures as PCG_ERR_REGISTRY_UNREACHABLE / PCG_ERR_TLS_UNTRUSTED.
 */
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { isErrorCode, PcgError } from '../../proto/errors.js';
import { formatPackIssue, type PackIssue } from '../../proto/packs/pack-error.js';
import { Secret } from '../../proto/secret.js';

export interface RegistryClientOptions {
  /** `https://host:port`. */
  readonly origin: string;
  /** PEM bundle to trust instead of the system CAs. @default undefined (system CAs) */
  readonly caFile?: string;
  /** Skip certificate verification. @default false */
  readonly insecure?: boolean;
  readonly username?: string;
  readonly password?: Secret;
  /** An access token, sent as it is. */
  readonly token?: Secret;
  /** An offline token from login, traded at `realm` (same origin) for an access token holding `scopes`. */
  readonly refreshToken?: Secret;
  readonly realm?: string;
  readonly service?: string;
  /** Token scopes this command needs, `repository:packs/NAME:pull,push`. @default [] */
  readonly scopes?: readonly string[];
}

export interface RegistryResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Readable & { json(): Promise<unknown>; text(): Promise<string>; dump(): Promise<void> };
}

export interface RequestOptions {
  readonly body?: Readable | Buffer | string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Send no credentials (login's first probe). @default false */
  readonly anonymous?: boolean;
  /** Statuses returned to the caller instead of thrown. @default [] */
  readonly accept?: readonly number[];
}

const TLS_CODES = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED']);

export class RegistryClient {
  readonly #dispatcher: Dispatcher;
  #accessToken: Secret | undefined;

  constructor(readonly options: RegistryClientOptions) {
    let ca: string | undefined;
    if (options.caFile !== undefined) {
      try {
        ca = readFileSync(options.caFile, 'utf8');
      } catch (err) {
        throw new PcgError('PCG_ERR_CONFIG_INVALID', `--ca-file ${options.caFile}: ${(err as Error).message}`, { cause: err });
      }
    }
    this.#dispatcher = new Agent({ connect: { ...(ca !== undefined ? { ca } : {}), rejectUnauthorized: options.insecure !== true } });
  }

  /** Sends a request; 2xx (and `accept`ed statuses) come back, any other status is thrown as its PcgError. */
  async request(method: Dispatcher.HttpMethod, path: string, options: RequestOptions = {}): Promise<RegistryResponse> {
    const headers: Record<string, string> = { ...options.headers };
    if (!options.anonymous && this.options.refreshToken && !this.#accessToken) this.#accessToken = await this.#trade(this.options.refreshToken);
    const auth = options.anonymous ? undefined : this.authorization();
    if (auth !== undefined) headers.authorization = auth;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${this.options.origin}${path}`, { method, headers, dispatcher: this.#dispatcher, ...(options.body !== undefined ? { body: options.body } : {}) });
    } catch (err) {
      throw this.#networkError(err);
    }
    const result: RegistryResponse = { status: response.statusCode, headers: response.headers, body: response.body };
    if ((response.statusCode >= 200 && response.statusCode < 300) || options.accept?.includes(response.statusCode)) return result;
    throw await errorOf(result);
  }

  /** A JSON answer. */
  async json<T>(method: Dispatcher.HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.request(method, path, { ...options, headers: { accept: 'application/json', ...options.headers } });
    if (response.status === 204) {
      await response.body.dump();
      return undefined as T;
    }
    return (await response.body.json()) as T;
  }

  authorization(): string | undefined {
    const { username, password } = this.options;
    const token = this.#accessToken ?? this.options.token;
    if (token) return `Bearer ${token.reveal()}`;
    if (username !== undefined && password) return `Basic ${Buffer.from(`${username}:${password.reveal()}`).toString('base64')}`;
    return undefined;
  }

  /** The token spec's refresh grant: POST realm, form-encoded; the realm must be on the registry's origin. */
  async #trade(refreshToken: Secret): Promise<Secret> {
    const realm = new URL(this.options.realm ?? '/v2/token', this.options.origin);
    if (realm.origin !== this.options.origin) throw new PcgError('PCG_ERR_CONFIG_INVALID', `the saved token realm ${realm.origin} is not the registry's; log in again`);
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken.reveal(), client_id: 'packctl', service: this.options.service ?? '' });
    if ((this.options.scopes ?? []).length > 0) form.set('scope', (this.options.scopes ?? []).join(' '));
    const response = await this.request('POST', `${realm.pathname}${realm.search}`, {
      anonymous: true, body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, accept: [400, 401],
    });
    const body = (await response.body.json().catch(() => ({}))) as { access_token?: string; token?: string };
    const token = body.access_token ?? body.token;
    if (response.status !== 200 || !token) throw new PcgError('PCG_ERR_UNAUTHENTICATED', `${this.options.origin} no longer accepts the saved token; run 'packctl login ${this.options.origin}' again`);
    return new Secret(token);
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  #networkError(err: unknown): PcgError {
    const cause = (err as { cause?: { code?: string } }).cause;
    const code = (err as { code?: string }).code ?? cause?.code ?? '';
    if (TLS_CODES.has(code)) {
      // The catalogue's hint speaks of the relay's pin; this is a registry, so the message is ours alone.
      const error = new PcgError('PCG_ERR_TLS_UNTRUSTED', undefined, { cause: err });
      error.message = `${this.options.origin}: the registry's certificate is not trusted (${code}); pass --ca-file with the registry's CA, or --insecure to skip verification`;
      return error;
    }
    return new PcgError('PCG_ERR_REGISTRY_UNREACHABLE', `${this.options.origin}: ${code || (err as Error).message}`, { cause: err });
  }
}

/** The registry's error body as a PcgError (its code and message as sent, and every issue on its own line). */
async function errorOf(response: RegistryResponse): Promise<PcgError> {
  let body: { code?: unknown; message?: unknown; issues?: PackIssue[] } = {};
  try {
    body = (await response.body.json()) as typeof body;
  } catch {
    // not our JSON (a proxy's page): the status says enough
  }
  if (isErrorCode(body.code) && typeof body.message === 'string') {
    const issues = Array.isArray(body.issues) && body.issues.length > 1 ? `\n${body.issues.map((i) => `  ${formatPackIssue(i)}`).join('\n')}` : '';
    const login = body.code === 'PCG_ERR_UNAUTHENTICATED' ? " Run 'packctl login HOST' first." : '';
    return PcgError.fromRemote(body.code, `${body.message}${login}${issues}`);
  }
  const code = response.status === 401 ? 'PCG_ERR_UNAUTHENTICATED' : response.status === 403 ? 'PCG_ERR_FORBIDDEN' : response.status === 404 ? 'PCG_ERR_NOT_FOUND' : 'PCG_ERR_INTERNAL';
  return new PcgError(code, `the registry answered HTTP ${response.status}`);
}
