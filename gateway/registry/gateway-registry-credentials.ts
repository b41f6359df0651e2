import type { RegistryCredentials, RegistryGrant } from '../../proto/registry/registry-auth.js';
import { sameSecret, type Secret } from '../../proto/secret.js';
import { readSecretFile } from '../../proto/secret-file.js';

/** The admin account may do everything: push, pull and delete in every repository. */
const ADMIN_GRANTS: readonly RegistryGrant[] = Object.freeze([{ repository: '*', actions: ['pull', 'push', 'delete'] }]);

/** Checks a cluster's pack read token (gateway/nodes/node-tokens.ts): the cluster it is for, or undefined. */
export interface PackReadTokens {
  verifyPackToken(token: string): string | undefined;
}

/** What each cluster may pull (cluster-pack-scopes.ts). */
export interface PackScopes {
  repositoriesOf(clusterId: string): readonly string[];
}

const NO_SCOPES: PackScopes = Object.freeze({ repositoriesOf: () => [] });

/** What the gateway's registry accepts: its admin account (config) and the clusters' pack read tokens (nodes: pull only). */
export class GatewayRegistryCredentials implements RegistryCredentials {
  private constructor(private readonly admin: { readonly username: string; readonly password: Secret<string> } | null,
    private readonly readTokens: PackReadTokens, private readonly scopes: PackScopes) {}

  /**
   * Reads `registry.passwordFile` (must be 0600: it is a credential); no username means no admin account.
   * `scopes` @default none: every read token pulls nothing (fail closed); the embedded registry gives ClusterPackScopes.
   */
  static async load(config: { readonly username: string | null; readonly passwordFile: string | null }, readTokens: PackReadTokens, scopes: PackScopes = NO_SCOPES): Promise<GatewayRegistryCredentials> {
    if (!config.username || !config.passwordFile) return new GatewayRegistryCredentials(null, readTokens, scopes);
    const password = await readSecretFile(config.passwordFile, 'registry.passwordFile');
    return new GatewayRegistryCredentials({ username: config.username, password }, readTokens, scopes);
  }

  authenticate(user: string, password: string): Promise<readonly RegistryGrant[] | undefined> {
    const admin = this.admin;
    // Both compared, always: the time taken does not tell which one was wrong.
    const ok = admin !== null && sameSecret(user, admin.username) && sameSecret(password, admin.password.reveal());
    return Promise.resolve(ok ? ADMIN_GRANTS : undefined);
  }

  /**
   * A cluster's pack read token pulls the repositories of its spec's packs and nothing else: every
   * node of a cluster holds it, so a node must not read another cluster's (or tenant's) packs. A
   * valid token of a cluster with no recorded scope is still recognised (it is not a wrong
   * password, so no login budget is spent) but may pull nothing: 403 DENIED.
   */
  verifyReadToken(token: string): readonly string[] | undefined {
    const clusterId = this.readTokens.verifyPackToken(token);
    return clusterId === undefined ? undefined : this.scopes.repositoriesOf(clusterId);
  }
}
