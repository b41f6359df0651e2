import { strict as assert } from 'node:assert';
import { retrieveProperties, singleObjectSpec } from '../../gateway/vsphere/property-collector.js';
import { SessionRenewedError } from '../../gateway/vsphere/session-renewed-error.js';
import { SessionScope } from '../../gateway/vsphere/session-scope.js';
import { text } from '../../gateway/vsphere/soap-xml.js';
import type { VimCaller } from '../../gateway/vsphere/vim-caller.js';
import { VimFault } from '../../gateway/vsphere/vim-fault.js';
import { CONTENT, FakeSession, recorded } from './recorded-soap.js';

const notAuthenticated = (method: string): VimFault => new VimFault('NotAuthenticated', 'The session is not authenticated.', {}, method);
const VIEW = { type: 'ContainerView', value: 'session[52]view-1' };

describe('session scopes: session-bound objects are re-created after a re-login, never replayed', () => {
  it('NotAuthenticated renews the session once and fails the scope; a stale scope sends nothing more', async () => {
    const fake = new FakeSession((method) => (method === 'RetrievePropertiesEx' ? Promise.reject(notAuthenticated(method)) : Promise.resolve(recorded(method))));
    const scope = new SessionScope(fake.port);
    const err = await scope.call('RetrievePropertiesEx', '<_this type="PropertyCollector">propertyCollector</_this>').then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SessionRenewedError);
    assert.deepEqual([err.code, err.method, (err.cause as VimFault).faultType], ['PCG_ERR_VCENTER_FAULT', 'RetrievePropertiesEx', 'NotAuthenticated']);
    assert.deepEqual([fake.renewals, fake.epoch, scope.stale], [1, 2, true]);
    await assert.rejects(scope.call('DestroyView', '<_this type="ContainerView">session[52]view-1</_this>'), SessionRenewedError);
    await scope.callIfLive('DestroyView', VIEW);
    assert.deepEqual(fake.methods, ['RetrievePropertiesEx'], 'nothing is sent on behalf of the old login');
  });

  it('a fault that arrives after someone else renewed the session is a renewal, not the fault', async () => {
    const fake = new FakeSession((method) => {
      fake.epoch++; // a concurrent caller (keepalive) logged in again while this request was in flight
      return Promise.reject(new VimFault('ManagedObjectNotFound', 'The object has already been deleted or has not been completely created', {}, method));
    });
    const err = await new SessionScope(fake.port).call('RetrievePropertiesEx', '').then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SessionRenewedError);
    assert.equal((err.cause as VimFault).faultType, 'ManagedObjectNotFound');
    assert.equal(fake.renewals, 0);
  });

  it('renewable() runs the work again once in a new scope; a second renewal reaches the caller', async () => {
    let runs = 0;
    const fake = new FakeSession((method) => Promise.reject(notAuthenticated(method)));
    const err = await fake.renewable(async (scope) => {
      runs++;
      return scope.call('CreateContainerView', '');
    }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SessionRenewedError);
    assert.deepEqual([runs, fake.renewals, fake.methods], [2, 2, ['CreateContainerView', 'CreateContainerView']]);
  });

  it('callIfLive ignores an ended session (its object ended with it) but not other faults', async () => {
    const fake = new FakeSession((method) => Promise.reject(method === 'DestroyView' ? notAuthenticated(method) : new VimFault('InvalidArgument', 'bad', {}, method)));
    const scope = new SessionScope(fake.port);
    await scope.callIfLive('DestroyView', VIEW);
    await assert.rejects(scope.callIfLive('DestroyPropertyCollector', { type: 'PropertyCollector', value: 'session[52]pc-1' }), (e: unknown) => e instanceof VimFault && e.is('InvalidArgument'));
    assert.equal(fake.renewals, 0, 'cleanup never logs in');
  });

  it('a paging token is not replayed after a renewal: the read starts again from the first page', async () => {
    const page = (token: string | undefined, ...ids: string[]): Record<string, unknown> => recorded('RetrievePropertiesEx', (token ? `<token>${token}</token>` : '')
      + ids.map((id) => `<objects><obj type="VirtualMachine">${id}</obj><propSet><name>name</name><val xsi:type="xsd:string">${id}</val></propSet></objects>`).join(''));
    const answers: Array<Record<string, unknown> | 'renewed'> = [page('tok-1', 'vm-1'), 'renewed', page('tok-9', 'vm-1'), page(undefined, 'vm-2')];
    const calls: string[] = [];
    // A VimSession's call() throws SessionRenewedError for a token whose session ended.
    const caller: VimCaller = {
      content: CONTENT,
      call: (method, args) => {
        calls.push(`${method} ${/<token>(.*)<\/token>/.exec(args)?.[1] ?? ''}`.trim());
        const next = answers.shift()!;
        return typeof next === 'string' ? Promise.reject(new SessionRenewedError(method)) : Promise.resolve(next);
      },
    };
    const objects = await retrieveProperties(caller, [{ type: 'VirtualMachine', paths: ['name'] }], singleObjectSpec({ type: 'Folder', value: 'group-v3' }), 1);
    assert.deepEqual(objects.map((o) => text(o.props.name)), ['vm-1', 'vm-2']);
    assert.deepEqual(calls, ['RetrievePropertiesEx', 'ContinueRetrievePropertiesEx tok-1', 'RetrievePropertiesEx', 'ContinueRetrievePropertiesEx tok-9']);
  });
});
