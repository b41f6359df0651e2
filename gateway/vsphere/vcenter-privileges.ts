import { el, moRef, raw, text, toArray, type MoRef } from './soap-xml.js';
import type { VimCaller } from './vim-caller.js';

/**
 * What the gateway does on vSphere, as privilege ids: read the inventory, make and remove the
 * per-cluster folders, clone VMs from templates into them, write guestinfo (advanced settings),
 * change their hardware, power them, and delete them.
 */
export const GATEWAY_PRIVILEGES: readonly string[] = Object.freeze([
  'System.View', 'System.Read',
  'Folder.Create', 'Folder.Delete',
  'VirtualMachine.Provisioning.Clone', 'VirtualMachine.Provisioning.DeployTemplate',
  'VirtualMachine.Inventory.CreateFromExisting', 'VirtualMachine.Inventory.Delete',
  'VirtualMachine.Config.AdvancedConfig', 'VirtualMachine.Config.Settings', 'VirtualMachine.Config.EditDevice', 'VirtualMachine.Config.Resource',
  'VirtualMachine.Interact.PowerOn', 'VirtualMachine.Interact.PowerOff',
  'Resource.AssignVMToPool', 'Datastore.AllocateSpace', 'Network.Assign',
]);

export interface PrivilegeCheck {
  readonly entity: MoRef;
  readonly granted: readonly string[];
  readonly missing: readonly string[];
}

const SERVICE_INSTANCE: MoRef = { type: 'ServiceInstance', value: 'ServiceInstance' };

/**
 * Which of `privileges` the logged-in user holds on `entity` (the root folder by default), by
 * AuthorizationManager.HasPrivilegeOnEntities with the session's own key: it needs only
 * System.View, unlike FetchUserPrivilegeOnEntities, and it answers for this session as vCenter
 * will judge the gateway's calls. (vcsim grants everything it is asked about.)
 */
export async function checkPrivileges(caller: VimCaller, privileges: readonly string[] = GATEWAY_PRIVILEGES, entity?: MoRef): Promise<PrivilegeCheck> {
  const target = entity ?? caller.content.rootFolder;
  const content = (await caller.call('RetrieveServiceContent', el('_this', SERVICE_INSTANCE))).returnval as Record<string, unknown>;
  const authorizationManager = moRef(content.authorizationManager);
  const sessionKey = await currentSessionKey(caller);
  const res = await caller.call('HasPrivilegeOnEntities', el('_this', authorizationManager) + el('entity', target)
    + el('sessionId', sessionKey) + privileges.map((p) => el('privId', p)).join(''));
  const results = toArray(res.returnval as Record<string, unknown> | Array<Record<string, unknown>> | undefined);
  const granted = new Set<string>();
  for (const result of results) {
    for (const availability of toArray(result.privAvailability as Record<string, unknown> | Array<Record<string, unknown>> | undefined)) {
      if (text(availability.isGranted) === 'true') granted.add(text(availability.privId));
    }
  }
  return { entity: target, granted: privileges.filter((p) => granted.has(p)), missing: privileges.filter((p) => !granted.has(p)) };
}

async function currentSessionKey(caller: VimCaller): Promise<string> {
  const res = await caller.call('RetrievePropertiesEx', el('_this', caller.content.propertyCollector)
    + raw('specSet', raw('propSet', el('type', 'SessionManager') + el('all', false) + el('pathSet', 'currentSession'))
      + raw('objectSet', el('obj', caller.content.sessionManager) + el('skip', false)))
    + raw('options', ''));
  const returnval = res.returnval as { objects?: { propSet?: { val?: { key?: unknown } } } } | undefined;
  return text(returnval?.objects?.propSet?.val?.key);
}
