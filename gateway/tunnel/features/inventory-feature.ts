import type { Logger } from 'pino';
import { PcgError } from '../../../proto/errors.js';
import type { InventoryRequestFrame } from '../../../proto/schemas/frames.js';
import type { VcenterPort } from '../../vsphere/vcenter-service.js';
import type { GatewaySession } from '../gateway-session.js';
import type { TunnelFeature } from '../tunnel-feature.js';

/**
 * Answers `inventory.request` from vCenter. A failure travels back as the response's `error`
 * (its code tells the portal what to fix); without a vCenter it is PCG_ERR_VCENTER_NOT_CONFIGURED.
 */
export function inventoryFeature(vcenter: VcenterPort | undefined, log: Logger): TunnelFeature {
  const answer = async (frame: InventoryRequestFrame, session: GatewaySession): Promise<void> => {
    let reply;
    try {
      if (!vcenter) throw new PcgError('PCG_ERR_VCENTER_NOT_CONFIGURED');
      reply = { type: 'inventory.response' as const, id: frame.id, items: await vcenter.inventory(frame.kind, frame.datacenter) };
    } catch (err) {
      const error = PcgError.wrap(err, 'PCG_ERR_VCENTER_FAULT');
      reply = { type: 'inventory.response' as const, id: frame.id, error: { code: error.code, message: error.message.slice(0, 2048) } };
    }
    if (!session.isOpen) {
      log.info({ id: frame.id, kind: frame.kind }, 'inventory answer not sent: the tunnel closed while vCenter was read');
      return;
    }
    try {
      session.send(reply);
    } catch (err) {
      // Too many items for one frame: the portal gets the reason (narrow by datacenter), the tunnel stays.
      if (!(err instanceof PcgError) || err.code !== 'PCG_ERR_FRAME_TOO_LARGE') throw err;
      session.send({ type: 'inventory.response', id: frame.id, error: { code: err.code, message: `${err.message.slice(0, 1500)} (ask for one datacenter at a time)` } });
    }
  };
  return {
    // Not awaited: a slow vCenter must not hold up the frames behind this one.
    handlers: { 'inventory.request': (frame, session) => void answer(frame, session).catch((err: unknown) => log.warn({ err }, 'inventory answer failed')) },
  };
}
