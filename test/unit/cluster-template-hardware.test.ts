import { strict as assert } from 'node:assert';
import { nodeDeviceEdits, readTemplateHardware, type TemplateHardware } from '../../gateway/clusters/template-hardware.js';
import { deviceEditXml } from '../../gateway/vsphere/vm-specs.js';
import type { PcgError } from '../../proto/errors.js';

const GIB = 1024 * 1024;

/** A disk and a NIC as fast-xml-parser hands them over (children in vCenter's order). */
const hardware = (templateKiB: number): TemplateHardware => ({
  nic: {
    device: { type: 'VirtualVmxnet3', key: 4000, node: { key: '4000', deviceInfo: { label: 'Network adapter 1', summary: 'VM Network' }, backing: { deviceName: 'old' }, controllerKey: '100', unitNumber: '7', macAddress: '00:50:56:00:00:01' } },
    backing: { kind: 'distributed', switchUuid: '50 2a 7f', portgroupKey: 'dvportgroup-13' },
  },
  disk: {
    device: { type: 'VirtualDisk', key: 2000, node: { key: '2000', backing: { fileName: '[ds] t/t.vmdk', datastore: { '#text': 'datastore-1', '@_type': 'Datastore' }, '@_xsi:type': 'VirtualDiskFlatVer2BackingInfo' }, controllerKey: '1000', unitNumber: '0', capacityInKB: String(templateKiB), shares: { level: 'normal' } } },
    capacityKiB: templateKiB,
  },
});

describe('template hardware: the clone device edits', () => {
  it('an opaque (NSX) network is refused with PCG_ERR_NETWORK_UNSUPPORTED before any request', async () => {
    let calls = 0;
    const session = { call: () => { calls++; return Promise.reject(new Error('no call expected')); }, content: {} as never };
    const err = await readTemplateHardware(session, {
      template: { ref: { type: 'VirtualMachine', value: 'vm-1' }, name: 'tpl', path: '/DC0/vm/tpl' },
      network: { ref: { type: 'OpaqueNetwork', value: 'network-o1' }, name: 'seg-1', path: '/DC0/network/seg-1' },
    }).then(() => undefined, (e: unknown) => e as PcgError);
    assert.equal(err?.code, 'PCG_ERR_NETWORK_UNSUPPORTED');
    assert.match(err.message, /network "seg-1" is an opaque \(NSX\) network/);
    assert.equal(calls, 0);
  });

  it('NIC backing replaced in place; disk grown with capacityInBytes inserted right after capacityInKB; the rest echoed', () => {
    const { edits, kept } = nodeDeviceEdits(hardware(GIB), { diskGiB: 20 });
    assert.equal(kept, undefined);
    assert.equal(deviceEditXml(edits[0]!),
      '<deviceChange xsi:type="VirtualDeviceConfigSpec"><operation>edit</operation><device xsi:type="VirtualVmxnet3"><key>4000</key>'
      + '<deviceInfo><label>Network adapter 1</label><summary>VM Network</summary></deviceInfo>'
      + '<backing xsi:type="VirtualEthernetCardDistributedVirtualPortBackingInfo"><port><switchUuid>50 2a 7f</switchUuid><portgroupKey>dvportgroup-13</portgroupKey></port></backing>'
      + '<controllerKey>100</controllerKey><unitNumber>7</unitNumber><macAddress>00:50:56:00:00:01</macAddress></device></deviceChange>');
    assert.equal(deviceEditXml(edits[1]!),
      '<deviceChange xsi:type="VirtualDeviceConfigSpec"><operation>edit</operation><device xsi:type="VirtualDisk"><key>2000</key>'
      + '<backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>[ds] t/t.vmdk</fileName><datastore type="Datastore">datastore-1</datastore></backing>'
      + `<controllerKey>1000</controllerKey><unitNumber>0</unitNumber><capacityInKB>${20 * GIB}</capacityInKB><capacityInBytes>${20 * GIB * 1024}</capacityInBytes>`
      + '<shares><level>normal</level></shares></device></deviceChange>');
  });

  it('never shrinks: a larger template disk gets no edit and is reported kept; an equal one neither', () => {
    const larger = nodeDeviceEdits(hardware(40 * GIB), { diskGiB: 20 });
    assert.deepEqual(larger.edits.map((e) => e.device.type), ['VirtualVmxnet3']);
    assert.deepEqual(larger.kept, { templateGiB: 40 });
    const equal = nodeDeviceEdits(hardware(20 * GIB), { diskGiB: 20 });
    assert.deepEqual([equal.edits.length, equal.kept], [1, undefined]);
  });
});
