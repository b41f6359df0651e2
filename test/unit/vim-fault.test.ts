import { strict as assert } from 'node:assert';
import { child, parseXml } from '../../gateway/vsphere/soap-xml.js';
import { VimFault } from '../../gateway/vsphere/vim-fault.js';

function fault(detail: string, message: string): Record<string, unknown> {
  const xml = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>${message}</faultstring><detail>${detail}</detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`;
  return child(child(child(parseXml(xml), 'Envelope'), 'Body'), 'Fault') as Record<string, unknown>;
}

// vcsim enforces no privileges, so NoPermission is checked on a fault shaped as vCenter sends it.
describe('vim faults from SOAP', () => {
  it('NoPermission names the missing privilege and maps to PCG_ERR_VCENTER_PERMISSION', () => {
    const err = VimFault.fromSoapFault('CloneVM_Task', fault(
      '<NoPermissionFault xmlns="urn:vim25" xsi:type="NoPermission"><object type="Folder">group-v3</object><privilegeId>VirtualMachine.Provisioning.Clone</privilegeId></NoPermissionFault>',
      'Permission to perform this operation was denied.'));
    assert.equal(err.faultType, 'NoPermission');
    assert.equal(err.code, 'PCG_ERR_VCENTER_PERMISSION');
    assert.equal(err.faultMessage, 'Permission to perform this operation was denied.');
    assert.match(err.message, /^CloneVM_Task: NoPermission: Permission to perform this operation was denied\. \(missing privilege VirtualMachine\.Provisioning\.Clone\)/);
  });

  it('InvalidLogin and other faults keep their type and vCenter\'s text', () => {
    const login = VimFault.fromSoapFault('Login', fault('<InvalidLoginFault xmlns="urn:vim25" xsi:type="InvalidLogin"></InvalidLoginFault>', 'Cannot complete login due to an incorrect user name or password.'));
    assert.deepEqual([login.faultType, login.code], ['InvalidLogin', 'PCG_ERR_VCENTER_LOGIN']);
    const busy = VimFault.fromSoapFault('Destroy_Task', fault('<TaskInProgressFault xmlns="urn:vim25" xsi:type="TaskInProgress"><task type="Task">task-7</task></TaskInProgressFault>', 'The object is busy.'));
    assert.deepEqual([busy.faultType, busy.code, busy.is('TaskInProgress')], ['TaskInProgress', 'PCG_ERR_VCENTER_FAULT', true]);
  });
});
