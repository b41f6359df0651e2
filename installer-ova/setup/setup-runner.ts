import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { systemClock, type Clock } from '../../proto/clock.js';
import { isErrorCode, PcgError } from '../../proto/errors.js';
import { Secret } from '../../proto/secret.js';
import { IdentityStore } from '../../gateway/identity/identity-store.js';
import { pairGateway } from '../../gateway/pairing/pair-gateway.js';
import { readStatus } from '../../gateway/status/status-file.js';
import type { CheckReport, CheckStep } from '../wizard/wizard-api.js';
import { CheckRecorder, CheckFailure, failStep } from './check-report.js';
import type { GatewayLauncher } from './gateway-launcher.js';
import { writeGatewayFiles } from './gateway-files.js';
import { checkNetwork } from './network-check.js';
import { checkNtp } from './ntp-check.js';
import { checkPairingCode } from './pairing-code-check.js';
import { checkProxy } from './proxy-check.js';
import { checkRelay, proxyEnvOf } from './relay-check.js';
import { readSetupRecord, recordSetupComplete } from './setup-record.js';
import type { SetupSettings } from './setup-settings.js';
import { checkVcenterSettings } from './vcenter-check.js';

/** Where setup runs: between `checks` and `pairing` nothing is written; from `pairing` on, the wizard shows progress. */
export type SetupPhase = 'checks' | 'pairing' | 'starting' | 'done';

export interface SetupOptions {
  readonly installerDir: string;
  readonly gatewayStateDir: string;
  readonly gatewayConfig: string;
  readonly launcher: GatewayLauncher;
  /** Told each step as it completes (the CLI prints them). */
  readonly onStep?: ((step: CheckStep) => void) | undefined;
  readonly onPhase?: ((phase: SetupPhase) => void) | undefined;
  /** How long to wait for status.json to say online. @default 60_000 */
  readonly onlineTimeoutMs?: number;
  /** Pairing (connect and handshake). @default 15_000 */
  readonly pairTimeoutMs?: number;
  readonly clock?: Clock;
  readonly log?: Logger;
}

/**
 * Setup, in an order that commits nothing until the relay accepted the code:
 *
 *   checks (relay, code format, proxy, network, NTP vs relay clock, vCenter)   nothing written
 *   pair  (gateway/pairing: the state dir is written only when the relay says yes)
 *   config files → launcher.start → status.json online → setup record (spends the token)
 *
 * Never throws for a failure it can name: the report says which step, code and field. A state dir
 * paired by an earlier run that failed after pairing (same relay) is resumed, not paired again.
 */
export async function runSetup(settings: SetupSettings, options: SetupOptions): Promise<CheckReport> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? pino({ level: 'silent' });
  const r = new CheckRecorder();
  const record = (step: CheckStep): void => {
    r.steps.push(step);
    options.onStep?.(step);
  };
  const merge = (name: string, report: CheckReport): void => {
    for (const step of report.steps) record({ ...step, step: `${name}.${step.step}` });
    Object.assign(r.normalized, report.normalized ?? {});
    for (const [k, v] of Object.entries(report.facts ?? {})) r.facts[`${name}.${k}`] = v;
    if (!report.ok) throw Object.assign(new CheckFailure(name, report.error?.field, PcgError.fromRemote(codeOf(report.error!.code), report.error!.message)), { recorded: true });
  };
  const pass = (step: string, detail: string): void => record({ step, ok: true, detail });
  try {
    if (await readSetupRecord(options.installerDir)) throw failStep('setup', undefined, 'PCG_ERR_SETUP_COMPLETE', `setup already completed (${options.installerDir})`);
    options.onPhase?.('checks');
    const relay = await checkRelay(settings);
    merge('relay', relay);
    const relayUrl = relay.normalized!.relayUrl!;
    merge('pairing', await checkPairingCode(settings));
    if (settings.proxy) merge('proxy', await checkProxy({ proxy: settings.proxy, relayUrl }));
    if (settings.network) merge('network', await checkNetwork(settings.network));
    if (settings.ntp) merge('ntp', await checkNtp({ ntp: settings.ntp, relayUrl }, { relayOffsetMs: Number(relay.facts?.relayOffsetMs ?? 0), clock }));
    const vcenter = settings.vcenter;
    if (vcenter) merge('vcenter', await checkVcenterSettings(vcenter));
    const caPin = settings.caPin?.trim() || undefined;

    options.onPhase?.('pairing');
    const identity = await pairOrResume(settings, relayUrl, caPin, options, clock, log);
    pass('pair', `${identity.resumed ? 'already paired' : 'paired'} as gateway ${identity.gatewayId} (tenant ${identity.tenantId})`);
    r.facts.gatewayId = identity.gatewayId;
    r.facts.tenantId = identity.tenantId;

    options.onPhase?.('starting');
    const files = await afterPairing('config', () => writeGatewayFiles({
      configFile: options.gatewayConfig, stateDir: options.gatewayStateDir, relayUrl, caPin, proxy: settings.proxy,
      vcenter: vcenter ? { ...vcenter, thumbprint: r.normalized['vcenter.thumbprint'] ?? vcenter.thumbprint ?? '' } : undefined,
    }));
    pass('config', `wrote ${files.configFile}${files.passwordFile ? `, ${files.passwordFile} (0600)` : ''}${files.proxyCaFile ? `, ${files.proxyCaFile}` : ''}, ${files.envFile}`);
    await afterPairing('start', () => options.launcher.start({ configFile: files.configFile, env: files.env }));
    pass('start', options.launcher.kind === 'systemd' ? 'systemctl enable --now pcg-gateway.service' : 'gateway process started');
    const since = await afterPairing('online', () => waitOnline(options, clock));
    pass('online', `tunnel online since ${new Date(since).toISOString()}`);
    await afterPairing('record', () => recordSetupComplete(options.installerDir, {
      gatewayId: identity.gatewayId, tenantId: identity.tenantId, relayUrl, configFile: files.configFile, completedAt: new Date(clock.now()).toISOString(),
    }));
    options.onPhase?.('done');
    return r.ok();
  } catch (err) {
    if ((err as { recorded?: boolean }).recorded) {
      // The failed step is in the steps already (merged from its check): only the error is added.
      const failure = err as CheckFailure;
      return { ...r.ok(), ok: false, error: { code: failure.error.code, message: failure.error.message, ...(failure.field ? { field: failure.field } : {}) } };
    }
    const report = r.failed(err);
    options.onStep?.(report.steps.at(-1)!);
    return report;
  }
}

async function afterPairing<T>(step: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw new CheckFailure(step, undefined, err);
  }
}

interface PairedIdentity { readonly gatewayId: string; readonly tenantId: string; readonly resumed: boolean }

async function pairOrResume(settings: SetupSettings, relayUrl: string, caPin: string | undefined, options: SetupOptions, clock: Clock, log: Logger): Promise<PairedIdentity> {
  const store = new IdentityStore(options.gatewayStateDir);
  if (store.isPaired) {
    const existing = await store.load();
    if (existing.relayUrl !== relayUrl) throw failStep('pair', undefined, 'PCG_ERR_ALREADY_PAIRED', `${options.gatewayStateDir} is paired with ${existing.relayUrl}, not ${relayUrl}`);
    return { gatewayId: existing.gatewayId, tenantId: existing.tenantId, resumed: true };
  }
  // pairGateway reads an extra CA from a file; it lives only as long as the attempt, outside every
  // directory setup owns, so a failed attempt leaves nothing behind.
  const caDir = settings.proxy?.proxyCaPem?.trim() && !caPin ? await mkdtemp(join(tmpdir(), 'pcg-setup-')) : undefined;
  try {
    const caFile = caDir ? join(caDir, 'proxy-ca.pem') : null;
    if (caDir && caFile) await writeFile(caFile, settings.proxy!.proxyCaPem!, { mode: 0o600 });
    const identity = await pairGateway({
      stateDir: options.gatewayStateDir, relayUrl, code: new Secret(settings.pairingCode), caPin: caPin ?? null, caFile,
      proxy: proxyEnvOf(settings.proxy), timeoutMs: options.pairTimeoutMs ?? 15_000, clock, log,
    });
    return { gatewayId: identity.gatewayId, tenantId: identity.tenantId, resumed: false };
  } catch (err) {
    throw new CheckFailure('pair', fieldForPairError(err), err);
  } finally {
    if (caDir) await rm(caDir, { recursive: true, force: true });
  }
}

function fieldForPairError(err: unknown): string | undefined {
  const code = err instanceof PcgError ? err.code : undefined;
  if (code?.startsWith('PCG_ERR_PAIR_CODE')) return 'pairingCode';
  if (code === 'PCG_ERR_TLS_INTERCEPTED' || code === 'PCG_ERR_TLS_UNTRUSTED') return 'caPin';
  if (code === 'PCG_ERR_RELAY_UNREACHABLE') return 'relayUrl';
  return undefined;
}

/** Polls status.json until `online`; a gateway that stopped for good, exited, or stayed away past the deadline fails with why. */
async function waitOnline(options: SetupOptions, clock: Clock): Promise<number> {
  const deadline = clock.now() + (options.onlineTimeoutMs ?? 60_000);
  for (;;) {
    const status = await readStatus(options.gatewayStateDir);
    if (status?.state === 'online') return status.since;
    if (status?.state === 'stopped' && status.reason) throw PcgError.fromRemote(codeOf(status.reason.code), status.reason.message);
    const stopped = options.launcher.stoppedReason();
    if (stopped) throw new PcgError('PCG_ERR_INTERNAL', `${stopped}${status?.lastError ? ` (last error ${status.lastError})` : ''}`);
    if (clock.now() > deadline) {
      throw new PcgError('PCG_ERR_GATEWAY_OFFLINE', `the gateway did not come online within ${(options.onlineTimeoutMs ?? 60_000) / 1000} s (tunnel ${status?.state ?? 'not started'}${status?.lastError ? `, last error ${status.lastError}` : ''})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function codeOf(code: string): PcgError['code'] {
  return isErrorCode(code) ? code : 'PCG_ERR_INTERNAL';
}
