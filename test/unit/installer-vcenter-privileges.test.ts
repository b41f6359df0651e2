import { strict as assert } from 'node:assert';
import { checkPrivileges, GATEWAY_PRIVILEGES } from '../../gateway/vsphere/vcenter-privileges.js';
import type { ServiceContent } from '../../gateway/vsphere/service-content.js';
import type { VimCaller } from '../../gateway/vsphere/vim-caller.js';

// vcsim grants every privilege it is asked about, so the "missing" answer is checked on a fake
// caller shaped as fast-xml-parser reads vCenter's replies.
describe('installer: vCenter privilege check', () => {
  const moref = (type: string, value: string) => ({ '@_type': type, '#text': value });
  const content = { rootFolder: { type: 'Folder', value: 'group-d1' }, propertyCollector: { type: 'PropertyCollector', value: 'propertyCollector' }, sessionManager: { type: 'SessionManager', value: 'SessionManager' } } as unknown as ServiceContent;

  function caller(denied: readonly string[]): VimCaller & { sent: string[] } {
    const sent: string[] = [];
    return {
      content, sent,
      call: (method: string, argsXml: string) => Promise.resolve(answer(method, argsXml)),
    };
    function answer(method: string, argsXml: string): Record<string, unknown> {
      sent.push(`${method} ${argsXml}`);
      if (method === 'RetrieveServiceContent') return { returnval: { authorizationManager: moref('AuthorizationManager', 'AuthorizationManager') } };
      if (method === 'RetrievePropertiesEx') return { returnval: { objects: { propSet: { val: { key: '52a1-session', userName: 'pcg@vsphere.local' } } } } };
      const ids = [...argsXml.matchAll(/<privId>([^<]+)<\/privId>/g)].map((m) => m[1]!);
      return { returnval: { entity: moref('Folder', 'group-d1'), privAvailability: ids.map((privId) => ({ privId, isGranted: denied.includes(privId) ? 'false' : 'true' })) } };
    }
  }

  it('asks HasPrivilegeOnEntities on the root folder with the session key, and names what is missing', async () => {
    const fake = caller(['VirtualMachine.Provisioning.Clone', 'Folder.Create']);
    const result = await checkPrivileges(fake);
    assert.deepEqual(result.missing, ['Folder.Create', 'VirtualMachine.Provisioning.Clone']);
    assert.equal(result.granted.length, GATEWAY_PRIVILEGES.length - 2);
    const ask = fake.sent.find((s) => s.startsWith('HasPrivilegeOnEntities'))!;
    assert.match(ask, /^HasPrivilegeOnEntities <_this type="AuthorizationManager">AuthorizationManager<\/_this><entity type="Folder">group-d1<\/entity><sessionId>52a1-session<\/sessionId><privId>System.View<\/privId>/);
    assert.equal([...ask.matchAll(/<privId>/g)].length, GATEWAY_PRIVILEGES.length);
  });

  it('all granted: nothing missing', async () => {
    const result = await checkPrivileges(caller([]));
    assert.deepEqual([result.missing, result.granted], [[], GATEWAY_PRIVILEGES]);
  });
});
