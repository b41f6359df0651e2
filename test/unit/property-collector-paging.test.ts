import { strict as assert } from 'node:assert';
import { retrieveProperties, singleObjectSpec } from '../../gateway/vsphere/property-collector.js';
import { child, parseXml, text } from '../../gateway/vsphere/soap-xml.js';
import type { VimSession } from '../../gateway/vsphere/vim-session.js';

/** A response body as vCenter sends it, reduced to the `<method>Response` element the client reads. */
function recorded(method: string, returnval: string): Record<string, unknown> {
  const xml = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><${method}Response xmlns="urn:vim25"><returnval>${returnval}</returnval></${method}Response></soapenv:Body></soapenv:Envelope>`;
  return child(child(child(parseXml(xml), 'Envelope'), 'Body'), `${method}Response`) as Record<string, unknown>;
}

const vm = (id: number): string =>
  `<objects><obj type="VirtualMachine">vm-${id}</obj><propSet><name>name</name><val xsi:type="xsd:string">vm ${id}</val></propSet><propSet><name>parent</name><val type="Folder" xsi:type="ManagedObjectReference">group-v3</val></propSet></objects>`;

// vcsim never pages, so paging is checked on responses shaped like a real vCenter's.
describe('property collector paging (recorded responses)', () => {
  it('follows tokens with ContinueRetrievePropertiesEx until the last page', async () => {
    const calls: Array<[string, string]> = [];
    const pages = [
      recorded('RetrievePropertiesEx', `<token>tok-1</token>${vm(1)}${vm(2)}`),
      recorded('ContinueRetrievePropertiesEx', `<token>tok-2</token>${vm(3)}`),
      recorded('ContinueRetrievePropertiesEx', vm(4)),
    ];
    const session = {
      content: { propertyCollector: { type: 'PropertyCollector', value: 'propertyCollector' } },
      call: (method: string, args: string) => {
        calls.push([method, args]);
        return Promise.resolve(pages.shift()!);
      },
    } as unknown as VimSession;
    const objects = await retrieveProperties(session, [{ type: 'VirtualMachine', paths: ['name', 'parent'] }], singleObjectSpec({ type: 'Folder', value: 'group-v3' }), 2);
    assert.deepEqual(objects.map((o) => [o.obj.value, text(o.props.name)]), [['vm-1', 'vm 1'], ['vm-2', 'vm 2'], ['vm-3', 'vm 3'], ['vm-4', 'vm 4']]);
    assert.deepEqual(objects[0]!.props.parent, { '#text': 'group-v3', '@_type': 'Folder', '@_xsi:type': 'ManagedObjectReference' });
    assert.deepEqual(calls.map(([m]) => m), ['RetrievePropertiesEx', 'ContinueRetrievePropertiesEx', 'ContinueRetrievePropertiesEx']);
    assert.match(calls[0]![1], /<specSet><propSet><type>VirtualMachine<\/type><all>false<\/all><pathSet>name<\/pathSet><pathSet>parent<\/pathSet><\/propSet><objectSet><obj type="Folder">group-v3<\/obj><skip>false<\/skip><\/objectSet><\/specSet><options><maxObjects>2<\/maxObjects><\/options>$/);
    assert.match(calls[1]![1], /<token>tok-1<\/token>$/);
    assert.match(calls[2]![1], /<token>tok-2<\/token>$/);
  });
});
