import { systemClock } from '../../proto/clock.js';
import type { CheckReport } from './check-report-schema.js';
import { CheckRecorder, failStep } from './check-report.js';
import type { ProbeOptions } from './network-probes.js';
import { firstContactTrust, proxyEnvOf } from './relay-check.js';
import { normalizeRelayEndpoint } from './relay-endpoint.js';
import { readRelayClock } from './relay-clock.js';
import type { NtpSettings, ProxySettings } from './setup-settings.js';
import { querySntp, type SntpSample } from './sntp-client.js';

/** Above this, certificates and heartbeats misbehave: setup refuses to go on. */
export const MAX_CLOCK_SKEW_MS = 30_000;

export interface NtpCheckInput {
  readonly ntp: NtpSettings;
  readonly relayUrl: string;
  readonly caPin?: string | undefined;
  readonly proxy?: ProxySettings | undefined;
}

export interface NtpCheckOptions extends ProbeOptions {
  /** Relay clock minus local clock, when the relay check measured it already (setup). */
  readonly relayOffsetMs?: number | undefined;
  /** Per NTP server. @default 2_000 */
  readonly ntpTimeoutMs?: number;
}

const seconds = (ms: number): string => `${ms >= 0 ? '+' : ''}${(ms / 1000).toFixed(1)} s`;

/**
 * Each NTP server answers SNTP (RFC 4330), and the time they give agrees with the relay's (its
 * Date header) within 30 s: facts.offsetMs (NTP − this appliance), facts.relayOffsetMs
 * (relay − this appliance) and facts.skewMs (NTP − relay). Without servers, the appliance's
 * own clock is compared with the relay's.
 */
export function checkNtp(input: NtpCheckInput, options: NtpCheckOptions = {}): Promise<CheckReport> {
  const clock = options.clock ?? systemClock;
  return new CheckRecorder().run(async (r) => {
    const samples: SntpSample[] = [];
    if (input.ntp.servers.length === 0) r.pass('ntp', "no NTP server given: the appliance's clock is compared with the relay's");
    for (const [i, server] of input.ntp.servers.entries()) {
      const sample = await r.step('ntp', `ntp.servers.${i}`, () => querySntp(server, { timeoutMs: options.ntpTimeoutMs ?? 2_000, clock }),
        (s) => `${server}: offset ${seconds(s.offsetMs)}, delay ${s.delayMs} ms, stratum ${s.stratum}`);
      samples.push(sample);
    }
    const ntpOffsetMs = samples.length ? Math.round(samples.reduce((sum, s) => sum + s.offsetMs, 0) / samples.length) : 0;
    r.facts.offsetMs = ntpOffsetMs;
    let relayOffsetMs = options.relayOffsetMs;
    if (relayOffsetMs === undefined) {
      const endpoint = await r.step('url', 'relayUrl', () => normalizeRelayEndpoint(input.relayUrl), (e) => e.url);
      const relayClock = await r.step('clock', 'relayUrl',
        () => readRelayClock(endpoint.url, firstContactTrust(input.caPin?.trim() || undefined, input.proxy), proxyEnvOf(input.proxy), options.timeoutMs ?? 5_000, clock),
        (c) => `relay time ${new Date(c.relayTimeMs).toISOString()}`);
      relayOffsetMs = relayClock.offsetMs;
    }
    r.facts.relayOffsetMs = relayOffsetMs;
    const skewMs = ntpOffsetMs - relayOffsetMs;
    r.facts.skewMs = skewMs;
    const source = samples.length ? 'NTP time' : "this appliance's clock";
    if (Math.abs(skewMs) > MAX_CLOCK_SKEW_MS) {
      throw failStep('skew', samples.length ? 'ntp.servers' : undefined, 'PCG_ERR_CLOCK_SKEW', `${source} differs from the relay's by ${seconds(skewMs)} (at most ±${MAX_CLOCK_SKEW_MS / 1000} s)`);
    }
    r.pass('skew', `${source} is ${seconds(skewMs)} from the relay's`);
  });
}

