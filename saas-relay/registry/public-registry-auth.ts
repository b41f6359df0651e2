import type { TLSSocket } from 'node:tls';
import type { onRequestAsyncHookHandler } from 'fastify';
import type { Clock } from '../../proto/clock.js';
import { RegistryAuth, type RegistryCredentials, type RegistryGrant, type RegistryPrincipal } from '../../proto/registry/registry-auth.js';
import { RegistryError } from '../../proto/registry/registry-error.js';
import { sameSecret, type Secret } from '../../proto/secret.js';
import { readSecretFile } from '../../proto/secret-file.js';

/** The narrow port of TenancyStore this needs: an API key to its tenant, undefined when unknown or revoked. */
export interface ApiKeyCheck {
  authenticate(apiKey: string): Promise<{ readonly tenantId: string } | undefined>;
}

/** Whether a gateway may still pull (not revoked, not deleted); the relay's gateway store answers it. */
export interface GatewayCheck {
  isActive(gatewayId: string): Promise<boolean>;
}

/** The public registry's operator account (push, tag, delete); from `--registry-username` and `--registry-password-file`. */
export interface RegistryOperator {
  readonly username: string;
  readonly passwordFile: string;
}

/** Any tenant's API key: public packs are readable by every tenant. */
const READER_GRANTS: readonly RegistryGrant[] = Object.freeze([{ repository: '*', actions: ['pull'] }]);
const OPERATOR_GRANTS: readonly RegistryGrant[] = Object.freeze([{ repository: '*', actions: ['pull', 'push', 'delete'] }]);
/** API keys look like `pcg_key_…`; bearer tokens from /v2/token are JWTs and never start so. */
const API_KEY_PREFIX = 'pcg_';


/**
 * Who the public registry knows: the operator (basic credentials from a 0600 file: pull, push,
 * delete everywhere) and every tenant's API key (pull only), as the password of basic auth, which
 * is what skopeo, containerd and `packctl login` send.
 */
export class PublicRegistryCredentials implements RegistryCredentials {
  private constructor(private readonly operator: { readonly username: string; readonly password: Secret<string> } | null, private readonly apiKeys: ApiKeyCheck) {}

  static async load(operator: RegistryOperator | null, apiKeys: ApiKeyCheck): Promise<PublicRegistryCredentials> {
    if (!operator) return new PublicRegistryCredentials(null, apiKeys);
    const password = await readSecretFile(operator.passwordFile, '--registry-password-file');
    return new PublicRegistryCredentials({ username: operator.username, password }, apiKeys);
  }

  async authenticate(user: string, password: string): Promise<readonly RegistryGrant[] | undefined> {
    const operator = this.operator;
    // Both compared, always: the time taken does not tell which one was wrong.
    if (operator !== null && sameSecret(user, operator.username) && sameSecret(password, operator.password.reveal())) return OPERATOR_GRANTS;
    if (password.startsWith(API_KEY_PREFIX) && await this.apiKeys.authenticate(password)) return READER_GRANTS;
    return undefined;
  }

  /** The relay issues no node read tokens: gateways pull public packs with their own credentials (sync). */
  verifyReadToken(): undefined {
    return undefined;
  }
}

/**
 * RegistryAuth plus `Authorization: Bearer <API key>`, the header every relay API call carries:
 * RegistryCredentials.verifyReadToken is synchronous and an API key needs the store, so the
 * bearer case is answered here before the JWT check. Everything else is RegistryAuth's.
 */
export class PublicRegistryAuth extends RegistryAuth {
  constructor(ports: { readonly credentials: RegistryCredentials; readonly key: Secret<Buffer>; readonly clock: Clock }, private readonly apiKeys: ApiKeyCheck) {
    super({}, ports);
  }

  override async principal(authorization: string | undefined): Promise<RegistryPrincipal | undefined> {
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (bearer?.[1]?.startsWith(API_KEY_PREFIX)) {
      const caller = await this.apiKeys.authenticate(bearer[1]);
      if (!caller) throw new RegistryError('UNAUTHORIZED', 'the API key is unknown or revoked');
      // 'basic': a key is a credential, not a scoped token; a client asking for a wider scope would get nothing more.
      return { subject: `tenant ${caller.tenantId}`, via: 'basic', grants: READER_GRANTS };
    }
    return super.principal(authorization);
  }
}

/** The organisation the relay's CA puts in every gateway client certificate (saas-relay/tls/certificate-authority.ts). */
const GATEWAY_CERT_ORGANIZATION = 'PCG gateways';

/**
 * Gateways pull public packs through with their client certificate (the relay's listener asks
 * every client for one, and verifies it against the relay CA): a request that carries no
 * Authorization header but a certificate this relay issued to a gateway, still valid, is given a
 * short-lived pull-only bearer token for `*` before the registry's routes see it. The routes then
 * authenticate it as any token, so the OCI and pack code need no third way in; the token is the
 * registry's own (HMAC-signed), so nothing a client sends can pass for one.
 *
 * Expired certificates are refused here (unlike the tunnel handshake, no signed challenge backs
 * them up); `gateways`, when given, refuses revoked or deleted gateways too, whose certificate may
 * still be valid for up to its lifetime (24 h by default).
 */
export function gatewayCertificateHook(auth: PublicRegistryAuth, gateways?: GatewayCheck): onRequestAsyncHookHandler {
  return async (request) => {
    if (request.headers.authorization !== undefined) return;
    const socket = request.raw.socket as Partial<TLSSocket>;
    if (socket.authorized !== true || typeof socket.getPeerCertificate !== 'function') return;
    const subject = socket.getPeerCertificate().subject as { readonly CN?: unknown; readonly O?: unknown } | undefined;
    const gatewayId = subject?.CN;
    if (subject?.O !== GATEWAY_CERT_ORGANIZATION || typeof gatewayId !== 'string' || gatewayId === '') return;
    if (gateways && !await gateways.isActive(gatewayId)) return;
    request.headers.authorization = `Bearer ${auth.issueFor(`gateway ${gatewayId}`, READER_GRANTS)}`;
  };
}
