import { isIP } from 'node:net';
import { connect } from 'node:tls';
import { PcgError } from '../../proto/errors.js';
import { Secret } from '../../proto/secret.js';
import { readInventory } from '../../gateway/vsphere/inventory.js';
import { normalizeThumbprint } from '../../gateway/vsphere/tls-pinning.js';
import { vcenterSdkUrl } from '../../gateway/vsphere/vcenter-address.js';
import { checkPrivileges } from '../../gateway/vsphere/vcenter-privileges.js';
import { VimSession } from '../../gateway/vsphere/vim-session.js';
import type { CheckReport } from './check-report-schema.js';
import { CheckRecorder, failStep } from './check-report.js';
import { hostPort, resolveHost } from './network-probes.js';
import type { ProbeOptions } from './network-probes.js';
import type { VcenterSettings } from './setup-settings.js';

/** The SHA-256 fingerprint of the certificate vCenter presents, AB:CD:… as vSphere shows it. */
export function fetchThumbprint(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false, ...(isIP(host) ? {} : { servername: host }) });
    const fail = (reason: string, cause?: unknown): void => {
      socket.destroy();
      reject(new PcgError('PCG_ERR_VCENTER_UNREACHABLE', `cannot reach vCenter at ${hostPort(host, port)}: ${reason}`, { cause }));
    };
    socket.setTimeout(timeoutMs, () => fail(`no TLS answer within ${timeoutMs} ms`));
    socket.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message, err));
    socket.once('secureConnect', () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      if (fingerprint) resolve(fingerprint);
      else reject(new PcgError('PCG_ERR_VCENTER_TLS', `vCenter at ${hostPort(host, port)} presented no certificate`));
    });
  });
}

/**
 * vCenter as the gateway will use it: the address in any form the gateway accepts, the
 * certificate's thumbprint (facts.thumbprint, for the admin to confirm: without vcenter.thumbprint
 * the check stops there with facts.thumbprintConfirmed false, field vcenter.thumbprint; a different
 * one is PCG_ERR_VCENTER_TLS), login, then the privileges the gateway needs on the root folder, any missing one named.
 */
export function checkVcenterSettings(input: VcenterSettings, options: ProbeOptions = {}): Promise<CheckReport> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new CheckRecorder().run(async (r) => {
    const sdk = await r.step('address', 'vcenter.host', () => vcenterSdkUrl(input.host), (u) => u.href);
    r.normalized['vcenter.host'] = sdk.host;
    const host = sdk.hostname.replace(/^\[|\]$/g, '');
    const port = Number(sdk.port || 443);
    await r.step('dns', 'vcenter.host', () => resolveHost(host), (a) => `${host} resolved to ${a.join(', ')}`);
    const presented = await r.step('tls', 'vcenter.host', () => fetchThumbprint(host, port, timeoutMs), (t) => `certificate SHA-256 ${t}`);
    r.facts.thumbprint = presented;
    r.facts.thumbprintConfirmed = false;
    // The password goes only to the vCenter whose certificate the admin confirmed (never on first use).
    if (!input.thumbprint?.trim()) {
      throw failStep('thumbprint', 'vcenter.thumbprint', 'PCG_ERR_VCENTER_TLS', `vCenter presented the certificate ${presented}; confirm it is your vCenter's (vcenter.thumbprint) before the password is sent`);
    }
    const expected = await r.step('thumbprint', 'vcenter.thumbprint', () => normalizeThumbprint(input.thumbprint!), (t) => `${t} confirmed`);
    if (expected !== presented) throw failStep('thumbprint', 'vcenter.thumbprint', 'PCG_ERR_VCENTER_TLS', `vCenter presented ${presented}, not the confirmed thumbprint ${expected}`);
    r.normalized['vcenter.thumbprint'] = expected;
    r.facts.thumbprintConfirmed = true;
    const session = await r.step('login', 'vcenter.password', async () => {
      try {
        return await VimSession.login({ host: input.host, user: input.user, password: new Secret(input.password), trust: { thumbprint: presented }, timeoutMs });
      } catch (err) {
        if (err instanceof PcgError && err.code === 'PCG_ERR_VCENTER_LOGIN') throw failStep('login', 'vcenter.password', err.code, `vCenter refused user ${input.user} or its password`);
        throw err;
      }
    }, (s) => `logged in as ${input.user} to ${s.content.about.fullName || 'vCenter'}`);
    try {
      r.facts.version = session.content.about.version;
      await r.step('privileges', 'vcenter.user', async () => {
        const result = await checkPrivileges(session);
        if (result.missing.length) {
          throw new PcgError('PCG_ERR_VCENTER_PERMISSION', `${input.user} lacks ${result.missing.join(', ')} on the root folder`);
        }
        return result;
      }, (p) => `all ${p.granted.length} privileges the gateway needs are granted on the root folder`);
      const inventory = await r.step('inventory', 'vcenter.user', () => readInventory(session),
        (i) => `datacenters: ${i.items.filter((x) => x.kind === 'datacenter').map((x) => x.name).join(', ') || 'none'}; ${i.counts.vm} VMs, ${i.counts.host} hosts`);
      r.facts.datacenters = inventory.items.filter((x) => x.kind === 'datacenter').length;
    } finally {
      await session.close().catch(() => undefined);
    }
  });
}
