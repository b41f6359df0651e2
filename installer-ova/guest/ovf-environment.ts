import { XMLParser } from 'fast-xml-parser';
import { PcgError } from '../../proto/errors.js';
import { APPLIANCE_PROPERTIES, type ApplianceValues } from '../appliance/appliance-properties.js';

/**
 * The OVF environment vSphere hands the guest (on the "OVF ENV" CD as ovf-env.xml, or as
 * guestinfo.ovfEnv through VMware Tools):
 *
 *   <Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="…same…" …>
 *     <PlatformSection>…</PlatformSection>
 *     <PropertySection>
 *       <Property oe:key="pcg.relayUrl" oe:value="https://relay.example.com"/>
 *     </PropertySection>
 *   </Environment>
 *
 * Prefixes differ between producers (oe:, ovfenv:, none), so they are ignored.
 */
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  isArray: (name) => name === 'Property',
  processEntities: true,
  // Numeric references (&#10; in a multi-line PEM) are XML, though the option's name says HTML.
  htmlEntities: true,
});

/**
 * Every appliance property (APPLIANCE_PROPERTIES), from the environment or its default; values
 * trimmed; keys the appliance does not know are ignored.
 */
export function parseOvfEnvironment(xml: string): ApplianceValues {
  let doc: unknown;
  try {
    doc = parser.parse(xml, true);
  } catch (err) {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', `OVF environment: not well-formed XML (${(err as Error).message.split('\n')[0]})`, { cause: err });
  }
  const env = (doc as { Environment?: unknown }).Environment;
  if (env === undefined) throw new PcgError('PCG_ERR_CONFIG_INVALID', 'OVF environment: no <Environment> element');
  // An empty <Environment/> parses as a string: no properties, all defaults.
  const section = typeof env === 'object' ? (env as { PropertySection?: { Property?: unknown[] } }).PropertySection : undefined;
  const given = new Map<string, string>();
  for (const property of section?.Property ?? []) {
    const p = property as Record<string, unknown>;
    const value = p['@value'];
    if (typeof p['@key'] === 'string') given.set(p['@key'], typeof value === 'string' ? value : '');
  }
  const values: Record<string, string> = {};
  for (const { key, defaultValue } of APPLIANCE_PROPERTIES) values[key] = (given.get(key) ?? defaultValue).trim();
  return Object.freeze(values);
}

/** An environment document as vSphere writes it; for tests and for `qemu` runs of the appliance. */
export function formatOvfEnvironment(values: Readonly<Record<string, string>>): string {
  const attr = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/\n/g, '&#10;');
  const properties = Object.entries(values).map(([k, v]) => `    <Property oe:key="${attr(k)}" oe:value="${attr(v)}"/>`);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
    '     xmlns:oe="http://schemas.dmtf.org/ovf/environment/1" xmlns:ve="http://www.vmware.com/schema/ovfenv" oe:id="">',
    '  <PlatformSection>',
    '    <Kind>VMware ESXi</Kind>',
    '    <Version>8.0.0</Version>',
    '    <Vendor>VMware, Inc.</Vendor>',
    '    <Locale>en</Locale>',
    '  </PlatformSection>',
    '  <PropertySection>',
    ...properties,
    '  </PropertySection>',
    '</Environment>',
    '',
  ].join('\n');
}
