/**
 * The vApp properties of the appliance: the OVF descriptor declares them (ovf/ovf-descriptor.ts),
 * vSphere asks for them at deploy time, and the guest reads them back from the OVF environment
 * (guest/ovf-environment.ts). One list, so the three never disagree on a key.
 */
export interface ApplianceProperty {
  /** `ovf:key`, e.g. `pcg.relayUrl`. */
  readonly key: string;
  /** OVF property type; `password` is a string shown masked by the vSphere Client. */
  readonly type: 'string' | 'password' | 'int';
  /** OVF `ovf:qualifiers`, e.g. `ValueMap{"dhcp","static"}` or `MinLen(0),MaxLen(64)`. */
  readonly qualifiers?: string;
  /** `ovf:value`; every property has one so an unattended deploy is valid. */
  readonly defaultValue: string;
  readonly label: string;
  readonly description: string;
  /** vSphere Client groups properties by category. */
  readonly category: 'Pairing' | 'Proxy' | 'Network' | 'Access';
}

export const APPLIANCE_PROPERTIES: readonly ApplianceProperty[] = [
  { key: 'pcg.pairingCode', type: 'password', defaultValue: '', category: 'Pairing', label: 'Pairing code',
    description: 'The one-time code the portal shows (XXXX-XXXX-XXXX-XXXX). With the relay endpoint, the appliance pairs at first boot; leave empty to enter it in the wizard.' },
  { key: 'pcg.relayUrl', type: 'string', defaultValue: '', category: 'Pairing', label: 'Relay endpoint',
    description: 'The relay address the portal shows, e.g. https://relay.example.com.' },
  { key: 'pcg.caPin', type: 'string', defaultValue: '', category: 'Pairing', label: 'Relay CA pin',
    description: 'The CA pin the portal shows next to the code (sha256/...). Detects TLS interception on first contact.' },
  { key: 'pcg.setupToken', type: 'password', defaultValue: '', category: 'Access', label: 'Setup token',
    description: "Opens the wizard on https://<appliance>:5080. Empty: one is generated at first boot and shown on the VM console." },
  { key: 'pcg.sshKey', type: 'string', defaultValue: '', category: 'Access', label: 'SSH public key',
    description: 'Authorised for the user pcg. Empty: no SSH login (there is no password login).' },
  { key: 'pcg.httpsProxy', type: 'string', defaultValue: '', category: 'Proxy', label: 'HTTPS proxy',
    description: 'http://host:port of the proxy to the relay, if one is needed.' },
  { key: 'pcg.noProxy', type: 'string', defaultValue: '', category: 'Proxy', label: 'No proxy',
    description: 'Comma-separated hosts and domains reached directly (vCenter usually is).' },
  { key: 'pcg.proxyCa', type: 'string', defaultValue: '', category: 'Proxy', label: 'Proxy CA (base64 PEM)',
    description: "The CA certificate of a TLS-inspecting proxy, PEM encoded in base64." },
  { key: 'pcg.network', type: 'string', qualifiers: 'ValueMap{"dhcp","static"}', defaultValue: 'dhcp', category: 'Network', label: 'Addressing',
    description: 'dhcp, or static with the address, prefix, gateway and DNS below.' },
  { key: 'pcg.ip', type: 'string', defaultValue: '', category: 'Network', label: 'IPv4 address', description: 'Static address of the appliance.' },
  { key: 'pcg.prefix', type: 'string', defaultValue: '24', category: 'Network', label: 'Prefix length', description: 'Subnet prefix length, 1 to 32.' },
  { key: 'pcg.gateway', type: 'string', defaultValue: '', category: 'Network', label: 'Default gateway', description: 'IPv4 default gateway in the same subnet.' },
  { key: 'pcg.dns', type: 'string', defaultValue: '', category: 'Network', label: 'DNS servers', description: 'Comma-separated IPv4 addresses.' },
  { key: 'pcg.ntp', type: 'string', defaultValue: '', category: 'Network', label: 'NTP servers', description: 'Comma-separated names or addresses; empty keeps the DHCP or built-in ones.' },
];

/** The properties as read from an OVF environment: key → value, every key present. */
export type ApplianceValues = Readonly<Record<string, string>>;
