import { strict as assert } from 'node:assert';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../support/api-client.js';
import { createGateway, pairCli, runGateway } from '../support/gateway-fixture.js';
import { PostgresServer } from '../support/postgres-fixture.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';
import type { Child } from '../support/child.js';

/** Two relay processes on one PostgreSQL: every fact a gateway's status needs is in the store. */
describe('two relays sharing one PostgreSQL', function () {
  this.timeout(90_000);
  let postgres: PostgresServer;
  let relayA: RelayProcess;
  let relayB: RelayProcess;
  let apiA: ApiClient;
  let apiB: ApiClient;
  const dir = tempDir('shared-pg');
  const children: Child[] = [];

  before(async () => {
    postgres = await PostgresServer.start();
    const url = await postgres.createDatabase('pcg_shared');
    const dataA = join(dir.path, 'relay-a');
    relayA = await RelayProcess.start({ dataDir: dataA, args: ['--database-url', url, '--heartbeat', '500ms'] });
    // The second relay shares the first one's keys (CA, signing key, hash key), as a deployment would.
    const dataB = join(dir.path, 'relay-b');
    cpSync(dataA, dataB, { recursive: true, filter: (src) => !src.includes('relay.db') });
    relayB = await RelayProcess.start({ dataDir: dataB, args: ['--database-url', url, '--heartbeat', '500ms'] });
    const out = await import('../support/child.js').then(({ runCli, RELAY_CLI }) => runCli(RELAY_CLI, ['admin', 'create-tenant', '--data-dir', dataA, '--database-url', url, '--name', 'shared']));
    const apiKey = (JSON.parse(out.stdout) as { apiKey: string }).apiKey;
    apiA = new ApiClient(relayA.url, relayA.caCert, apiKey);
    apiB = new ApiClient(relayB.url, relayB.caCert, apiKey);
  });
  after(async () => {
    for (const c of children) await c.stop();
    await relayA.stop();
    await relayB.stop();
    await postgres.stop();
    dir.remove();
  });

  async function pairOn(relay: RelayProcess, api: ApiClient, name: string): Promise<{ id: string; state: string }> {
    const gw = await createGateway(api, name);
    const state = join(dir.path, name);
    assert.equal((await pairCli(relay, state, gw.pairingCode)).code, 0);
    return { id: gw.id, state };
  }

  it('a gateway on relay A is online as seen through relay B', async () => {
    const { id, state } = await pairOn(relayA, apiA, 'gw-status');
    children.push(runGateway(state));
    await waitFor('online via B', async () => (await apiB.get<{ status: string }>(`/v1/gateways/${id}`)).body.status === 'online');
  });

  it('revoking through relay B closes the tunnel held by relay A within a second', async () => {
    const { id, state } = await pairOn(relayA, apiA, 'gw-revoke');
    const gateway = runGateway(state);
    children.push(gateway);
    await waitFor('online', async () => (await apiA.get<{ status: string }>(`/v1/gateways/${id}`)).body.status === 'online');
    const started = Date.now();
    assert.equal((await apiB.delete(`/v1/gateways/${id}`)).status, 200);
    assert.equal(await gateway.exited, 1);
    assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`);
    assert.match(gateway.stderr, /^PCG_ERR_GATEWAY_REVOKED: /m);
  });

  it('a session on relay B supersedes the one on relay A', async () => {
    const { id, state } = await pairOn(relayA, apiA, 'gw-move');
    const onA = runGateway(state);
    children.push(onA);
    await waitFor('online on A', async () => (await apiA.get<{ status: string }>(`/v1/gateways/${id}`)).body.status === 'online');
    // Same identity, pointed at relay B (both relays serve the same CA and signing key).
    const moved = join(dir.path, 'gw-move-b');
    cpSync(state, moved, { recursive: true, filter: (src) => !src.includes('.tmp-') });
    const identityPath = join(moved, 'identity.json');
    const { readFileSync, writeFileSync } = await import('node:fs');
    writeFileSync(identityPath, readFileSync(identityPath, 'utf8').replace(relayA.url, relayB.url));
    const onB = runGateway(moved);
    children.push(onB);
    assert.equal(await onA.exited, 1);
    assert.match(onA.stderr, /^PCG_ERR_SESSION_SUPERSEDED: /m);
    await waitFor('online via B', async () => (await apiA.get<{ status: string }>(`/v1/gateways/${id}`)).body.status === 'online');
  });
});
