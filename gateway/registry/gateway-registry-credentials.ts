import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { PcgError } from '../../proto/errors.js';
import type { RegistryCredentials, RegistryGrant } from '../../proto/registry/registry-auth.js';
import { Secret } from '../../proto/secret.js';

/** The admin account may do everything: push, pull and delete in every repository. */
const ADMIN_GRANTS: readonly RegistryGrant[] = Object.freeze([{ repository: '*', actions: ['pull', 'push', 'delete'] }]);

/** Equal strings in constant time (hashed first, so lengths leak nothing either). */
const sameSecret = (a: string, b: string): boolean =>
  timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

/** What the gateway's registry accepts: its admin account (config) and the clusters' pack read tokens (nodes: pull only). */
export class GatewayRegistryCredentials implements RegistryCredentials {
  private constructor(private readonly admin: { readonly username: string; readonly password: Secret<string> } | null,
    private readonly readTokens: { verifyPackToken(token: string): string | undefined }) {}

  /** Reads `registry.passwordFile` (must be 0600: it is a credential); no username means no admin account. */
  static async load(config: { readonly username: string | null; readonly passwordFile: string | null }, readTokens: { verifyPackToken(token: string): string | undefined }): Promise<GatewayRegistryCredentials> {
    if (!config.username || !config.passwordFile) return new GatewayRegistryCredentials(null, readTokens);
    let password: string;
    let mode: number;
    try {
      mode = (await stat(config.passwordFile)).mode;
      password = (await readFile(config.passwordFile, 'utf8')).replace(/\r?\n$/, '');
    } catch (err) {
      throw new PcgError('PCG_ERR_CONFIG_INVALID', `registry.passwordFile: cannot read ${config.passwordFile}`, { cause: err });
    }
    if (mode & 0o077) throw new PcgError('PCG_ERR_CONFIG_INVALID', `registry.passwordFile: ${config.passwordFile} has mode ${(mode & 0o777).toString(8)}; make it 0600`);
    if (password === '') throw new PcgError('PCG_ERR_CONFIG_INVALID', `registry.passwordFile: ${config.passwordFile} is empty`);
    return new GatewayRegistryCredentials({ username: config.username, password: new Secret(password) }, readTokens);
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
