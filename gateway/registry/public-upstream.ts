import { rootCertificates } from 'node:tls';
import type { Readable } from 'node:stream';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import { proxyForUrl, type ProxyEnv } from '../net/proxy-for-url.js';
import { privateKeyToPem } from '../../proto/keys.js';
import type { Digest } from '../../proto/registry/content-store.js';
import { MANIFEST_MEDIA_TYPES } from '../../proto/registry/manifest-parser.js';
import { IdentityStore } from '../identity/identity-store.js';
import { RegistryUnreachableError } from './registry-unreachable-error.js';

/** The gateway's TLS client identity: the relay-issued certificate (renewed over the tunnel) and its key. */
export interface ClientCredentials {
  readonly certPem: string;
  /** PEM of the private key; read from the state dir (0600), never logged. */
  readonly keyPem: string;
}

export interface PublicUpstreamOptions {
  /** The relay's base URL (`https://host:port`), as paired. */
  readonly relayUrl: string;
  /** The relay CA pinned at pairing; trusted besides the system roots (a relay may also have a public certificate). */
  readonly relayCaPem: string;
  /** Connect plus TLS handshake. @default 10_000 */
  readonly connectTimeoutMs?: number;
  /** Until the response headers arrive, and between two body chunks. @default 30_000 */
  readonly idleTimeoutMs?: number;
  /** HTTPS_PROXY / NO_PROXY, as the tunnel uses them: the gateway reaches the relay the same way. @default none */
  readonly proxy?: ProxyEnv;
}

export interface UpstreamManifest {
  readonly bytes: Buffer;
  readonly mediaType: string;
  /** `Docker-Content-Digest` as the relay sent it, if it did. */
  readonly digest: string | undefined;
}

/** Manifests larger than this are not taken from upstream (the registry's own push limit). */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const ACCEPT = MANIFEST_MEDIA_TYPES.join(', ');

/**
 * The relay's public registry as the gateway reads it: `/v2/` over HTTPS, authenticated by the
 * gateway's client certificate (the relay's listener asks every client for one; it maps a
 * certificate it issued to a pull-only principal). The certificate is re-read for every fetch
 * (`credentials()`): it is renewed over the tunnel about daily and the connection pool is rebuilt
 * when it changed. Every failure to get an answer is a RegistryUnreachableError; a 404 is
 * `undefined` (the relay does not have it either).
 */
export class PublicUpstream {
  #agent: { readonly certPem: string; readonly dispatcher: Agent | ProxyAgent } | undefined;
  #closed = false;

  constructor(private readonly options: PublicUpstreamOptions, private readonly credentials: () => Promise<ClientCredentials>) {}

  /** The relay a paired gateway's state dir names, with its client certificate (read anew each fetch); null when not paired. */
  static async ofStateDir(stateDir: string, options: Pick<PublicUpstreamOptions, 'connectTimeoutMs' | 'idleTimeoutMs' | 'proxy'> = {}): Promise<PublicUpstream | null> {
    const identities = new IdentityStore(stateDir);
    if (!identities.isPaired) return null;
    const { relayUrl, relayCaPem } = await identities.load();
    return new PublicUpstream({ ...options, relayUrl, relayCaPem }, async () => {
      const identity = await identities.load();
      return { certPem: identity.clientCertPem, keyPem: privateKeyToPem(identity.signKey.privateKey) };
    });
  }

  get relayUrl(): string {
    return this.options.relayUrl;
  }

  async manifest(repository: string, reference: string): Promise<UpstreamManifest | undefined> {
    const res = await this.#get(`/v2/${repository}/manifests/${reference}`, { accept: ACCEPT });
    if (!res) return undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_MANIFEST_BYTES) throw new RegistryUnreachableError(`the relay sent a manifest of ${repository} above ${MAX_MANIFEST_BYTES} bytes`);
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      res.body.destroy();
      throw unreachable(err, `reading the manifest ${repository}:${reference} from ${this.options.relayUrl}`);
    }
    const header = (name: string): string | undefined => {
      const value = res.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    return { bytes: Buffer.concat(chunks), mediaType: (header('content-type') ?? '').split(';')[0]!.trim(), digest: header('docker-content-digest') };
  }

  /** The blob's bytes as a stream (the caller verifies the digest while storing them); undefined on 404. */
  async blob(repository: string, digest: Digest): Promise<Readable | undefined> {
    const res = await this.#get(`/v2/${repository}/blobs/${digest}`, {});
    return res?.body;
  }

  /** Idempotent; fetches after it are refused. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const agent = this.#agent;
    this.#agent = undefined;
    await agent?.dispatcher.close();
  }

  async #get(path: string, headers: Record<string, string>): Promise<Dispatcher.ResponseData | undefined> {
    if (this.#closed) throw new RegistryUnreachableError('the gateway registry is closing');
    const url = new URL(path, this.options.relayUrl);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, { method: 'GET', headers, dispatcher: await this.#dispatcher() });
    } catch (err) {
      throw unreachable(err, `GET ${url.pathname} on ${url.origin}`);
    }
    if (res.statusCode === 200) return res;
    await res.body.dump().catch(() => undefined);
    if (res.statusCode === 404) return undefined;
    const why = res.statusCode === 401 || res.statusCode === 403
      ? `the relay refused the gateway's client certificate (${res.statusCode}); check that the gateway is paired and online`
      : `the relay answered ${res.statusCode}`;
    throw new RegistryUnreachableError(`GET ${url.pathname} on ${url.origin}: ${why}`);
  }

  async #dispatcher(): Promise<Agent | ProxyAgent> {
    const { certPem, keyPem } = await this.credentials();
    // close() may have run while the credentials were read: a pool built now would belong to
    // nobody (close() already took the last one) and keep its sockets open.
    if (this.#closed) throw new RegistryUnreachableError('the gateway registry is closing');
    if (this.#agent?.certPem === certPem) return this.#agent.dispatcher;
    const old = this.#agent;
    const timeout = this.options.idleTimeoutMs ?? 30_000;
    const tls = { ca: [...rootCertificates, this.options.relayCaPem], cert: certPem, key: keyPem, timeout: this.options.connectTimeoutMs ?? 10_000 };
    // Through the proxy the TLS session (and so the client certificate) still ends at the relay:
    // the proxy only sees a CONNECT.
    const proxy = this.options.proxy ? proxyForUrl(new URL(this.options.relayUrl), this.options.proxy) : undefined;
    const dispatcher = proxy
      ? new ProxyAgent({ uri: proxy, requestTls: tls, headersTimeout: timeout, bodyTimeout: timeout })
      : new Agent({ connect: tls, headersTimeout: timeout, bodyTimeout: timeout });
    this.#agent = { certPem, dispatcher };
    // Fetches still running on the old pool finish on it; close() waits for them.
    if (old) void old.dispatcher.close().catch(() => undefined);
    return dispatcher;
  }
}

function unreachable(err: unknown, what: string): RegistryUnreachableError {
  if (err instanceof RegistryUnreachableError) return err;
  const code = (err as { code?: unknown }).code;
  return new RegistryUnreachableError(`${what} failed: ${typeof code === 'string' ? code : (err as Error).message}`, err);
}
