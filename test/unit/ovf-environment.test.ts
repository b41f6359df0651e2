import { strict as assert } from 'node:assert';
import { APPLIANCE_PROPERTIES } from '../../installer-ova/appliance/appliance-properties.js';
import { formatOvfEnvironment, parseOvfEnvironment } from '../../installer-ova/guest/ovf-environment.js';
import { PcgError } from '../../proto/errors.js';

/** As vSphere 8 writes it on the "OVF ENV" CD (trimmed of the ve:EthernetAdapterSection). */
const VSPHERE_ENV = `<?xml version="1.0" encoding="UTF-8"?>
<Environment
     xmlns="http://schemas.dmtf.org/ovf/environment/1"
     xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xmlns:oe="http://schemas.dmtf.org/ovf/environment/1"
     xmlns:ve="http://www.vmware.com/schema/ovfenv"
     oe:id=""
     ve:vCenterId="vm-1042">
   <PlatformSection>
      <Kind>VMware ESXi</Kind>
      <Version>8.0.2</Version>
      <Vendor>VMware, Inc.</Vendor>
      <Locale>en</Locale>
   </PlatformSection>
   <PropertySection>
         <Property oe:key="pcg.caPin" oe:value="sha256/AAAA&amp;B"/>
         <Property oe:key="pcg.network" oe:value="static"/>
         <Property oe:key="pcg.relayUrl" oe:value=" https://relay.example.com "/>
         <Property oe:key="vendor.other" oe:value="ignored"/>
   </PropertySection>
   <ve:EthernetAdapterSection>
      <ve:Adapter ve:mac="00:50:56:8b:1c:2d" ve:network="VM Network" ve:unitNumber="7"/>
   </ve:EthernetAdapterSection>
</Environment>`;

describe('OVF environment (guest side)', () => {
  it('reads every appliance property: given values trimmed and unescaped, defaults for the rest, unknown keys dropped', () => {
    const values = parseOvfEnvironment(VSPHERE_ENV);
    assert.deepEqual(Object.keys(values).sort(), APPLIANCE_PROPERTIES.map((p) => p.key).sort());
    assert.equal(values['pcg.caPin'], 'sha256/AAAA&B');
    assert.equal(values['pcg.network'], 'static');
    assert.equal(values['pcg.relayUrl'], 'https://relay.example.com');
    assert.equal(values['pcg.prefix'], '24');
    assert.equal(values['pcg.pairingCode'], '');
    assert.equal(values['vendor.other'], undefined);
  });

  it('reads an environment without namespace prefixes and one with no PropertySection', () => {
    const bare = '<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"><PropertySection><Property key="pcg.ntp" value="ntp1, ntp2"/></PropertySection></Environment>';
    assert.equal(parseOvfEnvironment(bare)['pcg.ntp'], 'ntp1, ntp2');
    assert.equal(parseOvfEnvironment('<Environment/>')['pcg.network'], 'dhcp');
  });

  it('round-trips what formatOvfEnvironment writes, quotes and line breaks included', () => {
    const given = { 'pcg.sshKey': 'ssh-ed25519 AAAA "me" <x>', 'pcg.proxyCa': 'line1\nline2', 'pcg.pairingCode': 'ABCD-EFGH-JKMN-PQRS' };
    const values = parseOvfEnvironment(formatOvfEnvironment(given));
    assert.equal(values['pcg.sshKey'], given['pcg.sshKey']);
    assert.equal(values['pcg.proxyCa'], given['pcg.proxyCa']);
    assert.equal(values['pcg.pairingCode'], given['pcg.pairingCode']);
  });

  it('refuses a document that is not an OVF environment with PCG_ERR_CONFIG_INVALID', () => {
    for (const bad of ['<Envelope/>', 'not xml at all <', '<Environment><PropertySection></Environment>']) {
      assert.throws(() => parseOvfEnvironment(bad), (err: unknown) => err instanceof PcgError && err.code === 'PCG_ERR_CONFIG_INVALID' && /OVF environment/.test(err.message), bad);
    }
  });
});
