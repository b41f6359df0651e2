import { chown, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../proto/atomic-file.js';
import type { ApplianceValues } from '../appliance/appliance-properties.js';
import { NTP_DROP_IN_FILE, STATIC_NETWORK_FILE, renderNtp, renderStaticNetwork, type Rendered } from './guest-network.js';

/** Where the guest settings go; every path already carries the --root prefix. */
export interface GuestTargets {
  /** /etc/systemd/network */
  readonly networkDir: string;
  /** /etc/systemd/timesyncd.conf.d */
  readonly timesyncDir: string;
  /** /etc/pcg: vapp-proxy.env and vapp-proxy-ca.pem beside the gateway's configuration. */
  readonly pcgEtcDir: string;
  /** /etc/passwd, for the pcg user's home, uid and gid. */
  readonly passwdFile: string;
  /** The --root prefix, to place the pcg user's home. */
  readonly root: string;
}

/** HTTPS_PROXY / NO_PROXY for the gateway unit (EnvironmentFile); setup's gateway.env overrides it. */
export const PROXY_ENV_FILE = 'vapp-proxy.env';
export const PROXY_CA_FILE = 'vapp-proxy-ca.pem';
export const SSH_USER = 'pcg';

export interface ApplyReport {
  /** What was applied, one line each, for the journal; no secrets. */
  readonly applied: string[];
  /** Properties refused, and why; their part keeps the image default. */
  readonly problems: string[];
}

/**
 * Applies the vApp properties that configure the machine: addressing, NTP, proxy, SSH key. Run on
 * every boot, so an edited property takes effect after a restart and a cleared one is undone.
 */
export async function applyGuestSettings(values: ApplianceValues, targets: GuestTargets): Promise<ApplyReport> {
  const report: ApplyReport = { applied: [], problems: [] };
  await writeOrRemove(report, 'network', renderStaticNetwork(values), join(targets.networkDir, STATIC_NETWORK_FILE), 0o644);
  await writeOrRemove(report, 'ntp', renderNtp(values), join(targets.timesyncDir, NTP_DROP_IN_FILE), 0o644);
  await writeOrRemove(report, 'proxy', renderProxyEnv(values), join(targets.pcgEtcDir, PROXY_ENV_FILE), 0o600);
  await writeOrRemove(report, 'proxy CA', renderProxyCa(values), join(targets.pcgEtcDir, PROXY_CA_FILE), 0o644);
  await applySshKey(report, values['pcg.sshKey'] ?? '', targets);
  return report;
}

async function writeOrRemove(report: ApplyReport, what: string, rendered: Rendered, file: string, mode: number): Promise<void> {
  if (!rendered.ok) {
    report.problems.push(`${what}: ${rendered.problem}`);
    await rm(file, { force: true });
    return;
  }
  if (rendered.text === undefined) await rm(file, { force: true });
  else {
    await mkdir(join(file, '..'), { recursive: true, mode: 0o755 });
    await writeFileAtomic(file, rendered.text, mode);
  }
  report.applied.push(`${what}: ${rendered.summary}`);
}

function renderProxyEnv(values: ApplianceValues): Rendered {
  const proxy = values['pcg.httpsProxy'] ?? '';
  const noProxy = values['pcg.noProxy'] ?? '';
  if (!proxy) return { ok: true, text: undefined, summary: 'none' };
  let url: URL;
  try {
    url = new URL(proxy);
  } catch {
    return { ok: false, problem: 'pcg.httpsProxy is not a URL (http://host:port)' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, problem: `pcg.httpsProxy has scheme ${url.protocol}; use http:// or https://` };
  if (/["\\\n]/.test(noProxy)) return { ok: false, problem: 'pcg.noProxy holds quotes, backslashes or line breaks' };
  // A proxy URL may carry a user and password: the file is 0600 and the summary names the host only.
  const text = `HTTPS_PROXY="${proxy.replace(/["\\]/g, (c) => `\\${c}`)}"\n${noProxy ? `NO_PROXY="${noProxy}"\n` : ''}`;
  return { ok: true, text, summary: `via ${url.host}${noProxy ? `, not for ${noProxy}` : ''}` };
}

function renderProxyCa(values: ApplianceValues): Rendered {
  const given = values['pcg.proxyCa'] ?? '';
  if (!given) return { ok: true, text: undefined, summary: 'none' };
  const pem = given.includes('-----BEGIN') ? given : Buffer.from(given, 'base64').toString('utf8');
  if (!/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(pem)) return { ok: false, problem: 'pcg.proxyCa is not a PEM certificate (base64 encoded)' };
  return { ok: true, text: `${pem.trim()}\n`, summary: PROXY_CA_FILE };
}

/** Public keys only (no options), one per line; anything else is refused, not guessed at. */
const SSH_KEY_LINE = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+=*( [^\n]*)?$/;

async function applySshKey(report: ApplyReport, given: string, targets: GuestTargets): Promise<void> {
  const user = await passwdEntry(targets.passwdFile, SSH_USER);
  if (!user) {
    report.problems.push(`ssh: no user ${SSH_USER} in ${targets.passwdFile}`);
    return;
  }
  const sshDir = join(targets.root, user.home, '.ssh');
  const file = join(sshDir, 'authorized_keys');
  const lines = given.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (lines.length === 0) {
    await rm(file, { force: true });
    report.applied.push(`ssh: no key for ${SSH_USER} (no SSH login)`);
    return;
  }
  const bad = lines.findIndex((l) => !SSH_KEY_LINE.test(l));
  if (bad >= 0) {
    await rm(file, { force: true });
    report.problems.push(`ssh: pcg.sshKey line ${bad + 1} is not an OpenSSH public key (type base64 [comment])`);
    return;
  }
  await mkdir(sshDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, `${lines.join('\n')}\n`, 0o600);
  // sshd refuses keys in files the user does not own.
  await chown(sshDir, user.uid, user.gid);
  await chown(file, user.uid, user.gid);
  report.applied.push(`ssh: ${lines.length} key${lines.length === 1 ? '' : 's'} for ${SSH_USER}`);
}

async function passwdEntry(passwdFile: string, name: string): Promise<{ uid: number; gid: number; home: string } | undefined> {
  let text: string;
  try {
    text = await readFile(passwdFile, 'utf8');
  } catch {
    return undefined;
  }
  const fields = text.split('\n').map((l) => l.split(':')).find((f) => f[0] === name);
  if (!fields || fields.length < 7) return undefined;
  return { uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5]! };
}
