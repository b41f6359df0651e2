import { PcgError, isErrorCode } from '../../../proto/errors.js';
import type { FrameHandlers } from '../../../proto/frame-handlers.js';
import type { InventoryItem, InventoryKind } from '../../../proto/schemas/inventory.js';
import type { RoutedOperation } from '../routed-operation.js';
import type { TunnelSession } from '../tunnel-session.js';

/** Live inventory: the relay asks (`inventory.request`), the gateway reads vCenter and answers. */
export function inventoryHandlers(): FrameHandlers<TunnelSession> {
  return {
    'inventory.response': (frame, session) => {
      if (frame.error) session.requests.reject(frame.id, PcgError.fromRemote(isErrorCode(frame.error.code) ? frame.error.code : 'PCG_ERR_VCENTER_FAULT', frame.error.message));
      else session.requests.resolve(frame.id, frame.items ?? []);
    },
  };
}

/** Asks the gateway behind `session`; rejects with PCG_ERR_GATEWAY_TIMEOUT after `timeoutMs`. */
export function requestInventory(session: TunnelSession, kind: InventoryKind, datacenter: string | undefined, timeoutMs: number): Promise<InventoryItem[]> {
  return session.requests.call<InventoryItem[]>((id) => session.send({ type: 'inventory.request', id, kind, ...(datacenter ? { datacenter } : {}) }), {
    timeoutMs,
    onTimeout: () => new PcgError('PCG_ERR_GATEWAY_TIMEOUT', `gateway ${session.gatewayId} did not answer the inventory request within ${timeoutMs} ms`),
  });
}

export interface InventoryArgs {
  readonly kind: InventoryKind;
  readonly datacenter?: string | undefined;
}

/** Inventory as a routed operation: asked of any relay, answered through whichever holds the tunnel. */
export const inventoryOperation: RoutedOperation<InventoryArgs, InventoryItem[]> = {
  name: 'inventory',
  run: (session, args, { timeoutMs }) => requestInventory(session, args.kind, args.datacenter, timeoutMs),
};
