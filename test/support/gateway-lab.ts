import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import type { ApiClient } from './api-client.js';
import type { Child } from './child.js';
import { createGateway, pairCli, runGateway } from './gateway-fixture.js';
import type { RelayProcess } from './relay-fixture.js';
import { tempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

/** A gateway as GET /v1/gateways/:id shows it. */
export interface GatewayView { status: string; sessionEpoch: number; certExpiresAt: string; lastHeartbeatAt: string | null; version: string | null }

/**
 * Paired gateways and their `pcg-gateway run` processes for lifecycle tests; whatever a test made
 * is removed by cleanup() (call it in afterEach).
 */
export class GatewayLab {
  readonly #cleanup: Array<() => Promise<void> | void> = [];

  constructor(private readonly relay: () => RelayProcess, private readonly api: () => ApiClient) {}

  /** A fresh gateway paired with `on` (the lab's relay by default); returns its id and state dir. */
  async pair(name: string, on: RelayProcess = this.relay(), client: ApiClient = this.api()): Promise<{ id: string; dir: string }> {
    const gw = await createGateway(client, name);
    const dir = tempDir('gw');
    this.#cleanup.push(dir.remove);
    const state = join(dir.path, 'state');
    const out = await pairCli(on, state, gw.pairingCode);
    assert.equal(out.code, 0, out.stderr);
    return { id: gw.id, dir: state };
  }

  run(dir: string): Child {
    const child = runGateway(dir);
    this.#cleanup.push(() => child.stop());
    return child;
  }

  /** Registers more to undo at cleanup. */
  onCleanup(fn: () => Promise<void> | void): void {
    this.#cleanup.push(fn);
  }

  async view(id: string, client: ApiClient = this.api()): Promise<GatewayView> {
    return (await client.get<GatewayView>(`/v1/gateways/${id}`)).body;
  }

  online(id: string, client: ApiClient = this.api()): Promise<boolean> {
    return waitFor(`${id} online`, async () => (await this.view(id, client)).status === 'online');
  }

  /** Undoes everything, newest first. */
  async cleanup(): Promise<void> {
    for (const fn of this.#cleanup.splice(0).reverse()) await fn();
  }
}
