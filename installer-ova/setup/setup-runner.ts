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
import type { CheckReport, CheckStep } from './check-report-schema.js';
import { CheckRecorder, CheckFailure, failStep } from './check-report.js';
import type { GatewayLauncher } from './gateway-launcher.js';
import { writeGatewayFiles } from './gateway-files.js';
import { checkNetwork } from './network-check.js';
import { checkNtp } from './ntp-check.js';
import { checkPairingCode } from './pairing-code-check.js';
import { checkProxy } from './proxy-check.js';
import { checkRelay, proxyEnvOf } from './relay-check.js';
import { SetupLock } from './setup-lock.js';
import { readSetupRecord, recordSetupComplete } from './setup-record.js';
import type { SetupSettings } from './setup-settings.js';
import { checkVcenterSettings } from './vcenter-check.js';
import { withoutUserinfo } from './without-userinfo.js';

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
 *   lock installer-dir/setup.lock (one setup at a time, across processes: wizard, unattended, CLI)
 *   checks (relay, code format, proxy, network, NTP vs relay clock, vCenter)   nothing written
 *   pair  (gateway/pairing: the state dir is written only when the relay says yes)
 *   config files → launcher.start → status.json online → setup record (spends the token)
 *
 * Never throws for a failure it can name: the report says which step, code and field. A failure
 * after the gateway was started stops it again. A state dir paired by an earlier run that failed
 * after pairing keeps its identity on purpose (the code is spent at the relay): the next run
 * resumes it with the same relay, says the code entered was not used, and refuses another relay.
 */
export async function runSetup(settings: SetupSettings, options: SetupOptions): Promise<CheckReport> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? pino({ level: 'silent' });
  const r = new CheckRecorder();
  const record = (step: CheckStep): void => {
    const clean = { ...step, detail: withoutUserinfo(step.detail) };
    r.steps.push(clean);
    options.onStep?.(clean);
  };
  const merge = (name: string, report: CheckReport): void => {
    for (const step of report.steps) record({ ...step, step: `${name}.${step.step}` });
    Object.assign(r.normalized, report.normalized ?? {});
    for (const [k, v] of Object.entries(report.facts ?? {})) r.facts[`${name}.${k}`] = v;
    if (!report.ok) {
      const error = PcgError.fromRemote(codeOf(report.error!.code), report.error!.message);
      throw new CheckFailure(name, report.error?.field, error, { recorded: true });
    }
  };
  const pass = (step: string, detail: string): void => record({ step, ok: true, detail });
  let lock: SetupLock | undefined;
  let started = false;
  try {
    lock = await inStep('setup', () => SetupLock.acquire(options.installerDir));
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
    pass('pair', identity.resumed
      ? `already paired as ${identity.gatewayId} with ${relayUrl} (tenant ${identity.tenantId}); the code entered was not used`
      : `paired as gateway ${identity.gatewayId} (tenant ${identity.tenantId})`);
    r.facts.gatewayId = identity.gatewayId;
    r.facts.tenantId = identity.tenantId;

    options.onPhase?.('starting');
    const files = await inStep('config', () => writeGatewayFiles({
      configFile: options.gatewayConfig, stateDir: options.gatewayStateDir, relayUrl, caPin, proxy: settings.proxy,
      vcenter: vcenter ? { ...vcenter, thumbprint: r.normalized['vcenter.thumbprint'] ?? vcenter.thumbprint ?? '' } : undefined,
    }));
    pass('config', `wrote ${files.configFile}${files.passwordFile ? `, ${files.passwordFile} (0600)` : ''}${files.proxyCaFile ? `, ${files.proxyCaFile}` : ''}, ${files.envFile}`);
    started = true;
    await inStep('start', () => options.launcher.start({ configFile: files.configFile, env: files.env }));
    pass('start', options.launcher.kind === 'systemd' ? 'systemctl enable + restart pcg-gateway.service' : 'gateway process started');
    const since = await inStep('online', () => waitOnline(options, clock));
    pass('online', `tunnel online since ${new Date(since).toISOString()}`);
    await inStep('record', () => recordSetupComplete(options.installerDir, {
      gatewayId: identity.gatewayId, tenantId: identity.tenantId, relayUrl, configFile: files.configFile, completedAt: new Date(clock.now()).toISOString(),
    }));
    started = false;
    options.onPhase?.('done');
    return r.ok();
  } catch (err) {
    const report = r.failed(err);
    if (!(err instanceof CheckFailure && err.recorded)) options.onStep?.(report.steps.at(-1)!);
    // Nothing stays running while the form is shown again; the next attempt starts afresh.
    if (started) await options.launcher.stop().catch((stopErr: unknown) => log.warn({ err: stopErr }, 'stopping the gateway after a failed setup'));
    return report;
  } finally {
    await lock?.release();
  }
}

/** Runs one step of setup that is not a check: what it throws fails the step `step`. */
async function inStep<T>(step: string, work: () => Promise<T>): Promise<T> {
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
    if (existing.relayUrl !== relayUrl) {
      throw failStep('pair', 'relayUrl', 'PCG_ERR_ALREADY_PAIRED',
        `this appliance is already paired as ${existing.gatewayId} with ${existing.relayUrl}, not ${relayUrl}; enter ${existing.relayUrl} to finish its setup, `
        + `or deploy a fresh appliance (or empty ${options.gatewayStateDir} on purpose) to pair with another relay`);
    }
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
