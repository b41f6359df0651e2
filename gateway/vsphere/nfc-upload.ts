import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { Agent, buildConnector, request } from 'undici';
import { PcgError } from '../../proto/errors.js';
import { vcenterAgent, type VcenterTrust } from './tls-pinning.js';

export interface NfcUpload {
  /** The lease's device URL. */
  readonly url: string;
  /** Thumbprint the lease gives for the URL's host ('' when none). */
  readonly sslThumbprint: string;
  /** host[:port] of the vCenter the session talks to: what `*` in the URL stands for. */
  readonly vcenterHost: string;
  /** How the session trusts vCenter: the same trust serves a URL on vCenter's own host. */
  readonly trust: VcenterTrust;
  /** false: a disk (POST, streamVmdk); true: a file to create (PUT, Overwrite). */
  readonly create: boolean;
  readonly body: Readable;
  readonly size: number;
  readonly signal?: AbortSignal;
  /** @default 3_600_000 (an hour: a large disk over a slow link) */
  readonly timeoutMs?: number;
}

/** The device URL with `*` replaced by vCenter's host, as govmomi's ParseURL does. */
export function resolveDeviceUrl(url: string, vcenterHost: string): URL {
  const resolved = new URL(url.replace(/^(https?:\/\/)\*(?=[:/])/, `$1${vcenterHost}`));
  if (resolved.protocol !== 'https:') throw new PcgError('PCG_ERR_VCENTER_FAULT', `lease device URL ${url} is not https`);
  return resolved;
}

/**
 * The TLS rule for the upload: vCenter's own host keeps the session's trust; another host (an
 * ESXi host on a real vCenter) is pinned to the thumbprint vCenter gave in the lease, which came
 * over the verified session. No thumbprint and a pinned vCenter: nothing to verify it by, refused.
 */
function agentFor(target: URL, upload: NfcUpload): Agent {
  if (target.host === upload.vcenterHost) return vcenterAgent(upload.trust, 1);
  if (upload.sslThumbprint) return pinnedAgent(upload.sslThumbprint);
  if ('caPem' in upload.trust) return vcenterAgent(upload.trust, 1);
  throw new PcgError('PCG_ERR_VCENTER_TLS', `cannot verify ${target.host} for the disk upload: the lease gives no thumbprint and vCenter is trusted by pin only`);
}

/** A pin of SHA-1 (what vSphere has long put in sslThumbprint) or SHA-256. */
function pinnedAgent(thumbprint: string): Agent {
  const hex = thumbprint.replace(/[^0-9a-f]/gi, '').toUpperCase();
  if (hex.length === 64) return vcenterAgent({ thumbprint: hex }, 1);
  if (hex.length !== 40) throw new PcgError('PCG_ERR_VCENTER_TLS', `lease thumbprint ${thumbprint} is neither SHA-1 nor SHA-256`);
  const expected = hex.match(/.{2}/g)!.join(':');
  // The pin is the check: ESXi hosts' certificates are self-signed as a rule.
  const base = buildConnector({ rejectUnauthorized: false, maxCachedSessions: 0 });
  return new Agent({
    connections: 1,
    connect: (options, callback) => {
      base(options, (err, socket) => {
        if (err || !socket) return callback(err ?? new Error('no socket'), null);
        const actual = (socket as TLSSocket).getPeerCertificate().fingerprint;
        if (actual !== expected) {
          socket.destroy();
          return callback(new PcgError('PCG_ERR_VCENTER_TLS', `thumbprint mismatch for ${options.hostname}: expected ${expected}, got ${actual}`), null);
        }
        return callback(null, socket);
      });
    },
  });
}

/**
 * Sends one file to a lease device URL, streamed with its length known (vCenter wants
 * Content-Length). Disks are POSTed as `application/x-vnd.vmware-streamVmdk`, other files PUT with
 * `Overwrite: t`, as ovftool and govc do. Any status other than 200/201 is an error.
 */
export async function nfcUpload(upload: NfcUpload): Promise<void> {
  const target = resolveDeviceUrl(upload.url, upload.vcenterHost);
  const agent = agentFor(target, upload);
  try {
    const headers: Record<string, string> = { 'content-length': String(upload.size) };
    if (upload.create) headers.overwrite = 't';
    else headers['content-type'] = 'application/x-vnd.vmware-streamVmdk';
    const timeout = upload.timeoutMs ?? 3_600_000;
    const res = await request(target, {
      method: upload.create ? 'PUT' : 'POST', headers, body: upload.body, dispatcher: agent,
      headersTimeout: timeout, bodyTimeout: timeout, ...(upload.signal ? { signal: upload.signal } : {}),
    });
    const answer = await res.body.text();
    if (res.statusCode !== 200 && res.statusCode !== 201) {
      throw new PcgError('PCG_ERR_VCENTER_FAULT', `upload to ${target.host}${target.pathname}: HTTP ${res.statusCode} ${answer.slice(0, 200)}`);
    }
  } catch (err) {
    if (err instanceof PcgError) throw err;
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof PcgError) throw cause;
    throw new PcgError('PCG_ERR_VCENTER_UNREACHABLE', `upload to ${target.host}${target.pathname} failed: ${(err as Error).message}`, { cause: err });
  } finally {
    upload.body.destroy();
    await agent.close();
  }
}
