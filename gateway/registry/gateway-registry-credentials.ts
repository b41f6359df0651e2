import type { RegistryCredentials, RegistryGrant } from '../../proto/registry/registry-auth.js';
import { sameSecret, type Secret } from '../../proto/secret.js';
import { readSecretFile } from '../../proto/secret-file.js';

/** The admin account may do everything: push, pull and delete in every repository. */
const ADMIN_GRANTS: readonly RegistryGrant[] = Object.freeze([{ repository: '*', actions: ['pull', 'push', 'delete'] }]);


/** What the gateway's registry accepts: its admin account (config) and the clusters' pack read tokens (nodes: pull only). */
export class GatewayRegistryCredentials implements RegistryCredentials {
  private constructor(private readonly admin: { readonly username: string; readonly password: Secret<string> } | null,
    private readonly readTokens: { verifyPackToken(token: string): string | undefined }) {}

  /** Reads `registry.passwordFile` (must be 0600: it is a credential); no username means no admin account. */
  static async load(config: { readonly username: string | null; readonly passwordFile: string | null }, readTokens: { verifyPackToken(token: string): string | undefined }): Promise<GatewayRegistryCredentials> {
    if (!config.username || !config.passwordFile) return new GatewayRegistryCredentials(null, readTokens);
    const password = await readSecretFile(config.passwordFile, 'registry.passwordFile');
    return new GatewayRegistryCredentials({ username: config.username, password }, readTokens);
  }

  authenticate(user: string, password: string): Promise<readonly RegistryGrant[] | undefined> {
    const admin = this.admin;
    // Both compared, always: the time taken does not tell which one was wrong.
    const ok = admin !== null && sameSecret(user, admin.username) && sameSecret(password, admin.password.reveal());
    return Promise.resolve(ok ? ADMIN_GRANTS : undefined);
  }

  /**
   * A cluster's pack read token (gateway/nodes/node-tokens.ts) pulls every repository: which packs a
   * cluster may see is the pack layer's business, and nodes must reach every pack their profile names.
   */
  verifyReadToken(token: string): readonly string[] | undefined {
    return this.readTokens.verifyPackToken(token) === undefined ? undefined : ['*'];
  }
}
