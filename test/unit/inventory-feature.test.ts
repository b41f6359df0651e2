import { strict as assert } from 'node:assert';
import pino from 'pino';
import { HandlerTable } from '../../proto/frame-handlers.js';
import { RELAY_FRAME_TYPES, type InventoryResponseFrame } from '../../proto/schemas/frames.js';
import type { InventoryItem, InventoryKind } from '../../proto/schemas/inventory.js';
import { GatewaySession } from '../../gateway/tunnel/gateway-session.js';
import { inventoryFeature } from '../../gateway/tunnel/features/inventory-feature.js';
import type { VcenterPort } from '../../gateway/vsphere/vcenter-service.js';
import { RecordingReceiver, SealedPair } from '../support/sealed-pair.js';

const log = pino({ level: 'silent' });
const item = (kind: InventoryKind, i: number): InventoryItem => ({ kind, id: `${kind}-${i}`, name: `${kind} ${i}`, path: `/DC0/${kind}/${i}`, datacenter: 'DC0' });

/** A vCenter with 2,000 hosts and one datastore; no network needed. */
const vcenter: VcenterPort = {
  info: () => Promise.resolve({ host: 'vc', thumbprint: null, version: '8.0', datacenters: ['DC0'] }),
  inventory: (kind) => Promise.resolve(Array.from({ length: kind === 'host' ? 2000 : 1 }, (_, i) => item(kind, i))),
  close: () => Promise.resolve(),
};

describe('gateway inventory feature over a sealed channel', () => {
  it('an answer too large for one frame becomes PCG_ERR_FRAME_TOO_LARGE for that request; the tunnel goes on', async () => {
    const pair = await SealedPair.open({}, { gatewayMaxFrameBytes: 32_768 });
    try {
      const relayIn = new RecordingReceiver();
      pair.relay.channel.start(relayIn);
      const handlers = HandlerTable.register<GatewaySession>(RELAY_FRAME_TYPES, [inventoryFeature(vcenter, log).handlers!]);
      new GatewaySession({ type: 'welcome', epoch: 1, heartbeat_s: 3600, server_time: 0 }, pair.gateway.channel, handlers, {
        status: () => ({ version: 'test', uptime_s: 0 }), clock: pair.gateway.clock, log,
      }).start([]);
      pair.relay.channel.send({ type: 'inventory.request', id: 1, kind: 'host' });
      pair.relay.channel.send({ type: 'inventory.request', id: 2, kind: 'datastore' });
      const replies = (await relayIn.waitForFrames(2)) as InventoryResponseFrame[];
      const byId = new Map(replies.map((r) => [r.id, r]));
      assert.equal(byId.get(1)!.error!.code, 'PCG_ERR_FRAME_TOO_LARGE');
      assert.match(byId.get(1)!.error!.message, /exceeds the tunnel's 32768-byte limit.*one datacenter at a time/);
      assert.deepEqual(byId.get(2)!.items, [item('datastore', 0)]);
      assert.equal(pair.relay.channel.isOpen, true);
    } finally {
      await pair.close();
    }
  });
});
