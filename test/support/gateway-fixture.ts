import { Child, GATEWAY_CLI, runCli } from './child.js';
import type { ApiClient } from './api-client.js';
import type { RelayProcess } from './relay-fixture.js';

export interface NewGateway { id: string; pairingCode: string; caPin: string; expiresAt: string }

export async function createGateway(api: ApiClient, name: string): Promise<NewGateway> {
  const res = await api.post<NewGateway>('/v1/gateways', { name });
  if (res.status !== 201) throw new Error(`create gateway: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Fast reconnects so tests do not wait on production backoff. */
export const FAST_BACKOFF = ['--backoff-initial', '200ms', '--backoff-max', '1s'];

export function pairCli(relay: RelayProcess, stateDir: string, code: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const pin = extra.includes('--ca-pin') ? [] : ['--ca-pin', relay.caPin];
  return runCli(GATEWAY_CLI, ['pair', '--state-dir', stateDir, '--relay', relay.url, '--code', code, ...pin, ...extra], env);
}

export function runGateway(stateDir: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Child {
  // Port 0: many gateways run at once in tests, and the default 8443 would collide.
  return Child.node(GATEWAY_CLI, ['run', '--state-dir', stateDir, ...FAST_BACKOFF, ...extra], { PCG_HTTPS_PORT: '0', ...env });
}

export async function gatewayStatusJson(stateDir: string): Promise<Record<string, unknown>> {
  const out = await runCli(GATEWAY_CLI, ['status', '--state-dir', stateDir, '--json']);
  if (out.code !== 0) throw new Error(`status failed: ${out.stderr}`);
  return JSON.parse(out.stdout) as Record<string, unknown>;
}
