import { strict as assert } from 'node:assert';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '../../proto/registry/content-store.js';
import { packIndexDigest } from '../../proto/registry/pack-index-digest.js';
import { PackIndex } from '../../proto/registry/pack-index.js';
import type { PackIndexItem, RegistryIndexAckFrame } from '../../proto/schemas/frames.js';
import { packIndexFile } from '../../gateway/registry/pack-sync-source.js';
import { ApiClient } from '../support/api-client.js';
import { runGateway } from '../support/gateway-fixture.js';
import { GatewayLab } from '../support/gateway-lab.js';
import { RawSession } from '../support/raw-session.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';

interface PackSyncView { status: string; message: string | null; generation: number | null; packs: number; indexDigest: string }
interface PackPage { items: Array<{ name: string; version: string; digest: string; source: string }>; nextCursor: string | null }

const hex = (n: number, width = 64): string => n.toString(16).padStart(width, '0');
/** A fabricated pack index row: the relay sees only what the gateway's index says. */
const item = (i: number): PackIndexItem => ({ name: `pack-${String(Math.floor(i / 10)).padStart(4, '0')}`, version: `1.0.${i % 10}`, digest: `sha256:${hex(i + 1)}`, layer: 'addon', cloud_types: ['all'] });

/**
 * Full pack index reports larger than one frame (MAX_FRAME_BYTES): sent in parts, applied only
 * whole. A real gateway with 10,000 packs in its index, and a hand-driven session that loses a
 * part or loses the relay (kill -9) half-way.
 */
describe('pack sync: full reports in parts', function () {
  this.timeout(120_000);
  const work = tempDir('pack-sync-parts');
  let relay: RelayProcess;
  let api: ApiClient;
  let apiKey: string;
  let lab: GatewayLab;

  before(async () => {
    relay = await RelayProcess.start({ args: ['--heartbeat', '500ms'] });
    apiKey = (await relay.createTenant('pack-sync-parts')).apiKey;
    api = new ApiClient(relay.url, relay.caCert, apiKey);
    lab = new GatewayLab(() => relay, () => api);
  });
  after(async () => {
    await lab.cleanup();
    await relay.stop();
    work.remove();
  });

  const syncState = async (gatewayId: string): Promise<PackSyncView> => {
    const res = await api.get<PackSyncView>(`/v1/gateways/${gatewayId}/pack-sync`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };

  it('a real gateway with 10,000 packs reports them in parts: status ok, 10,000 packs, the gateway\'s digest, every page listed', async () => {
    const gateway = await lab.pair('dc-10k');
    // Fabricated rows in the embedded registry's own index file: the registry opens it as it is
    // (it rebuilds only a missing file), and the reporter reads it like any other.
    const rows = Array.from({ length: 10_000 }, (_, i) => item(i));
    mkdirSync(join(gateway.dir, 'packs'), { recursive: true, mode: 0o700 });
    const index = PackIndex.open(packIndexFile(gateway.dir));
    for (const p of rows) {
      index.put({
        name: p.name, version: p.version, displayName: p.name, layer: p.layer, cloudTypes: p.cloud_types, addonType: null,
        manifestDigest: `sha256:${hex(p.name.length, 64)}`, archiveDigest: p.digest as Digest, archiveSize: 1, message: null,
      });
    }
    index.close();
    chmodSync(packIndexFile(gateway.dir), 0o600);
    const passwordFile = join(work.path, 'registry-password');
    writeFileSync(passwordFile, 'parts-admin-pw\n', { mode: 0o600 });
    const child = runGateway(gateway.dir, ['--https-host=127.0.0.1', '--registry-username=admin', `--registry-password-file=${passwordFile}`]);
    lab.onCleanup(() => child.stop());
    const sync = await waitFor('10,000 packs synced', async () => {
      const state = await syncState(gateway.id);
      return state.status === 'ok' && state.packs > 0 ? state : undefined;
    }, 60_000, 200);
    assert.deepEqual([sync.status, sync.packs, sync.indexDigest, sync.message], ['ok', 10_000, packIndexDigest(rows), null]);
    const reported = child.stdout.split('\n').filter((l) => l.includes('pack index reported to the relay')).map((l) => JSON.parse(l) as { packs: number });
    assert.deepEqual(reported.map((l) => l.packs), [10_000]);
    // Every row comes back once, in order, over ten pages of 1,000.
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: PackPage } = await api.get<PackPage>(`/v1/packs?source=gateway:${gateway.id}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      seen.push(...res.body.items.map((p) => `${p.name}:${p.version}:${p.digest}`));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 10);
    assert.deepEqual(seen, rows.map((p) => `${p.name}:${p.version}:${p.digest}`));
  });

  describe('a report broken off half-way is never applied', () => {
    let gateway: { id: string; dir: string };
    let raw: RawSession;
    let nextId = 1;
    const parts = [0, 1, 2].map((k) => Array.from({ length: 3000 }, (_, i) => item(k * 3000 + i)));
    const all = parts.flat();
    const earlier = [item(90_000), item(90_001)];

    /** Sends one registry.index frame and waits for its ack. */
    const report = async (frame: Record<string, unknown>): Promise<RegistryIndexAckFrame> => {
      const id = nextId++;
      raw.send({ type: 'registry.index', id, ...frame });
      return waitFor(`ack of ${id}`, () => raw.received.find((f): f is RegistryIndexAckFrame => f.type === 'registry.index.ack' && f.id === id), 10_000);
    };
    const part = (reportId: string, n: number, generation: number) => report({
      mode: 'full', generation, report: { id: reportId, part: n, parts: 3 }, packs: parts[n - 1], index_digest: packIndexDigest(all),
    });

    before(async () => {
      gateway = await lab.pair('dc-raw');
      raw = await RawSession.open(gateway.dir);
      const ack = await report({ mode: 'full', generation: 1, packs: earlier, index_digest: packIndexDigest(earlier) });
      assert.deepEqual([ack.generation, ack.resync], [1, false]);
    });
    after(() => raw?.close());

    it('a lost part: the last one is refused (resync), the relay still holds the previous generation, status pending', async () => {
      assert.deepEqual(await part('aaaaaaaaaaaaaaaa', 1, 2), { type: 'registry.index.ack', id: nextId - 1, generation: 1, resync: false });
      const ack = await part('aaaaaaaaaaaaaaaa', 3, 2);
      assert.deepEqual([ack.generation, ack.resync], [1, true]);
      const state = await syncState(gateway.id);
      assert.deepEqual([state.status, state.generation, state.packs, state.indexDigest], ['pending', 1, 2, packIndexDigest(earlier)]);
      assert.match(state.message!, /part 3 of report aaaaaaaaaaaaaaaa arrived where part 2 was due/);
    });

    it('the relay killed (-9) after two of three parts: after the restart nothing of them is held, a lone last part is refused, a whole report applies', async () => {
      assert.equal((await part('bbbbbbbbbbbbbbbb', 1, 2)).resync, false);
      assert.equal((await part('bbbbbbbbbbbbbbbb', 2, 2)).resync, false);
      raw.close();
      await relay.child.kill9();
      relay = await relay.restart();
      api = new ApiClient(relay.url, relay.caCert, apiKey);
      const held = await syncState(gateway.id);
      assert.deepEqual([held.generation, held.packs, held.indexDigest], [1, 2, packIndexDigest(earlier)]);
      raw = await RawSession.open(gateway.dir);
      const lone = await part('bbbbbbbbbbbbbbbb', 3, 2);
      assert.deepEqual([lone.generation, lone.resync], [1, true]);
      assert.deepEqual((await syncState(gateway.id)).packs, 2);
      for (const n of [1, 2]) assert.equal((await part('cccccccccccccccc', n, 2)).resync, false);
      const whole = await part('cccccccccccccccc', 3, 2);
      assert.deepEqual([whole.generation, whole.resync], [2, false]);
      const state = await syncState(gateway.id);
      assert.deepEqual([state.status, state.generation, state.packs, state.indexDigest, state.message], ['ok', 2, 9000, packIndexDigest(all), null]);
    });

    it('parts whose union does not hash to the reported digest: failed, the previous generation kept', async () => {
      const wrong = (n: number) => report({ mode: 'full', generation: 3, report: { id: 'dddddddddddddddd', part: n, parts: 2 }, packs: parts[n - 1], index_digest: packIndexDigest(all) });
      assert.equal((await wrong(1)).resync, false);
      const ack = await wrong(2);
      assert.deepEqual([ack.generation, ack.resync], [2, true]);
      const state = await syncState(gateway.id);
      assert.deepEqual([state.status, state.generation, state.packs], ['failed', 2, 9000]);
    });
  });
});
