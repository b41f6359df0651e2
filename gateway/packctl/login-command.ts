import { createInterface } from 'node:readline';
import { PcgError } from '../../proto/errors.js';
import { Secret } from '../../proto/secret.js';
import { packctlConfigPath, readPackctlConfig, registryOrigin, writePackctlConfig, type RegistryLogin } from './packctl-config.js';
import { RegistryClient } from './registry-client.js';

export interface LoginOptions {
  readonly username?: string;
  readonly passwordStdin?: boolean;
  readonly insecure?: boolean;
  readonly default?: boolean;
  readonly caFile?: string;
}

/**
 * `packctl login HOST`: checks the credentials against the registry and saves them (0600). Where
 * the registry runs the token flow (`/v2/` answers 401 with `WWW-Authenticate: Bearer realm=…`)
 * and gives an offline token (`refresh_token`, asked with `offline_token=true`), only that token
 * is saved; access tokens are short-lived (minutes), so saving one would break the next command.
 * Otherwise the password is saved, and sent as Basic (which the registry's API accepts).
 */
export async function loginCommand(host: string, options: LoginOptions): Promise<void> {
  const origin = registryOrigin(host);
  const username = options.username ?? (await prompt('Username: ', false));
  if (!username) throw new PcgError('PCG_ERR_CONFIG_INVALID', '--username is required');
  const password = new Secret(options.passwordStdin ? await readStdin() : await prompt('Password: ', true));
  if (!password.reveal()) throw new PcgError('PCG_ERR_CONFIG_INVALID', 'the password is empty (give it on stdin with --password-stdin)');
  const trust = { origin, ...(options.caFile !== undefined ? { caFile: options.caFile } : {}), insecure: options.insecure === true };

  const offline = await fetchOfflineToken(new RegistryClient({ ...trust, username, password }));
  let login: RegistryLogin | undefined;
  if (offline && (await accepted(new RegistryClient({ ...trust, username, ...offline, scopes: ['repository:packs/*:pull'] })))) login = { username, ...offline };
  else if (await accepted(new RegistryClient({ ...trust, username, password }))) login = { username, password };
  if (!login) throw new PcgError('PCG_ERR_UNAUTHENTICATED', `${origin} refused the credentials of ${username}`);

  const path = packctlConfigPath();
  const config = await readPackctlConfig(path);
  const saved: RegistryLogin = { ...login, ...(options.caFile !== undefined ? { caFile: options.caFile } : {}), ...(options.insecure ? { insecure: true } : {}) };
  const makeDefault = options.default === true || config.default === null;
  await writePackctlConfig(path, { default: makeDefault ? origin : config.default, registries: { ...config.registries, [origin]: saved } });
  process.stdout.write(`Logged in to ${origin} as ${username}${login.refreshToken ? ' (token saved)' : ''}${makeDefault ? ', the default registry' : ''}\n`);
}

/** The distribution token flow: the realm must be on the registry's own origin (the password goes there). */
async function fetchOfflineToken(client: RegistryClient): Promise<{ refreshToken: Secret; realm: string; service: string } | undefined> {
  try {
    const probe = await client.request('GET', '/v2/', { anonymous: true, accept: [401, 404, 405] });
    await probe.body.dump();
    const challenge = String(probe.headers['www-authenticate'] ?? '');
    if (probe.status !== 401 || !/^Bearer\s/i.test(challenge)) return undefined;
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
    if (!params.realm) return undefined;
    const realm = new URL(params.realm, client.options.origin);
    if (realm.origin !== client.options.origin) return undefined;
    if (params.service) realm.searchParams.set('service', params.service);
    const service = params.service ?? '';
    const ask = new URL(realm);
    ask.searchParams.set('account', client.options.username ?? '');
    ask.searchParams.set('client_id', 'packctl');
    ask.searchParams.set('offline_token', 'true');
    ask.searchParams.set('scope', 'repository:packs/*:pull');
    const body = await client.json<{ refresh_token?: string }>('GET', `${ask.pathname}${ask.search}`);
    return body.refresh_token ? { refreshToken: new Secret(body.refresh_token), realm: realm.href, service } : undefined;
  } catch (err) {
    if (err instanceof PcgError && (err.code === 'PCG_ERR_UNAUTHENTICATED' || err.code === 'PCG_ERR_FORBIDDEN' || err.code === 'PCG_ERR_NOT_FOUND')) return undefined;
    throw err;
  } finally {
    await client.close();
  }
}

/** Whether the native API takes these credentials (a 403 is a valid login without list rights). */
async function accepted(client: RegistryClient): Promise<boolean> {
  try {
    const response = await client.request('GET', '/v1/packs?limit=1', { accept: [401, 403] });
    await response.body.dump();
    return response.status !== 401;
  } finally {
    await client.close();
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Asks on the terminal; the password is not echoed. Off a terminal, flags are required. */
async function prompt(question: string, hidden: boolean): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', hidden ? 'no terminal to ask for the password: pass it on stdin with --password-stdin' : 'no terminal to ask: pass --username');
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  if (hidden) {
    // readline echoes through _writeToOutput; after the question, print nothing of what is typed.
    const output = rl as unknown as { _writeToOutput: (s: string) => void };
    let asked = false;
    output._writeToOutput = (s: string) => {
      if (!asked) { process.stderr.write(s); asked = true; }
    };
  }
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    rl.close();
    if (hidden) process.stderr.write('\n');
  }
}
