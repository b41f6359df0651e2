import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { RegistryAuth, type RegistryCredentials, type RegistryGrant, type RegistryPrincipal } from '../../proto/registry/registry-auth.js';
import { RegistryError } from '../../proto/registry/registry-error.js';
import { Secret } from '../../proto/secret.js';

/** The narrow port of TenancyStore this needs: an API key to its tenant, undefined when unknown or revoked. */
export interface ApiKeyCheck {
  authenticate(apiKey: string): Promise<{ readonly tenantId: string } | undefined>;
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

const sameSecret = (a: string, b: string): boolean =>
  timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

/**
 * Who the public registry knows: the operator (basic credentials from a 0600 file: pull, push,
 * delete everywhere) and every tenant's API key (pull only), as the password of basic auth, which
 * is what skopeo, containerd and `packctl login` send.
 */
export class PublicRegistryCredentials implements RegistryCredentials {
  private constructor(private readonly operator: { readonly username: string; readonly password: Secret<string> } | null, private readonly apiKeys: ApiKeyCheck) {}

  static async load(operator: RegistryOperator | null, apiKeys: ApiKeyCheck): Promise<PublicRegistryCredentials> {
    if (!operator) return new PublicRegistryCredentials(null, apiKeys);
    let password: string;
    let mode: number;
    try {
      mode = (await stat(operator.passwordFile)).mode;
      password = (await readFile(operator.passwordFile, 'utf8')).replace(/\r?\n$/, '');
    } catch (err) {
      throw new PcgError('PCG_ERR_CONFIG_INVALID', `--registry-password-file: cannot read ${operator.passwordFile}`, { cause: err });
    }
    if (mode & 0o077) throw new PcgError('PCG_ERR_CONFIG_INVALID', `--registry-password-file: ${operator.passwordFile} has mode ${(mode & 0o777).toString(8)}; make it 0600`);
    if (password === '') throw new PcgError('PCG_ERR_CONFIG_INVALID', `--registry-password-file: ${operator.passwordFile} is empty`);
    return new PublicRegistryCredentials({ username: operator.username, password: new Secret(password) }, apiKeys);
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
