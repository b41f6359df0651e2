import { Type, type Static } from '@sinclair/typebox';

/**
 * Everything setup needs, as the wizard's form posts it, as `pcg-installer setup --config FILE`
 * reads it, and as the first boot builds it from the vApp properties. Fields are as typed by the
 * user; each check (setup/*-check.ts) normalises and validates its own part live.
 */
export const ProxySettings = Type.Object({
  /** http://host:port (or https://) of the proxy to the relay. */
  httpsProxy: Type.String({ minLength: 1 }),
  /** Comma-separated hosts, domains (.example.com) and CIDRs reached directly. */
  noProxy: Type.Optional(Type.String()),
  /** PEM of a TLS-inspecting proxy's CA. */
  proxyCaPem: Type.Optional(Type.String()),
}, { additionalProperties: false });

export const NetworkSettings = Type.Union([
  Type.Object({ mode: Type.Literal('dhcp') }, { additionalProperties: false }),
  Type.Object({
    mode: Type.Literal('static'),
    ip: Type.String(),
    prefix: Type.Integer(),
    gateway: Type.String(),
    dns: Type.Array(Type.String()),
  }, { additionalProperties: false }),
]);

export const NtpSettings = Type.Object({
  /** Names or addresses, optionally host:port (tests run an SNTP server on a high port). */
  servers: Type.Array(Type.String({ minLength: 1 })),
}, { additionalProperties: false });

export const VcenterSettings = Type.Object({
  host: Type.String({ minLength: 1 }),
  user: Type.String({ minLength: 1 }),
  password: Type.String({ minLength: 1 }),
  /** SHA-256 thumbprint the admin confirmed after the check showed it; required to save. */
  thumbprint: Type.Optional(Type.String()),
}, { additionalProperties: false });

export const RelaySettings = Type.Object({
  relayUrl: Type.String({ minLength: 1 }),
  caPin: Type.Optional(Type.String()),
}, { additionalProperties: false });

export const SetupSettings = Type.Object({
  relayUrl: Type.String({ minLength: 1 }),
  caPin: Type.Optional(Type.String()),
  pairingCode: Type.String({ minLength: 1 }),
  proxy: Type.Optional(ProxySettings),
  network: Type.Optional(NetworkSettings),
  ntp: Type.Optional(NtpSettings),
  vcenter: Type.Optional(VcenterSettings),
}, { additionalProperties: false });

export type ProxySettings = Static<typeof ProxySettings>;
export type NetworkSettings = Static<typeof NetworkSettings>;
export type NtpSettings = Static<typeof NtpSettings>;
export type VcenterSettings = Static<typeof VcenterSettings>;
export type RelaySettings = Static<typeof RelaySettings>;
export type SetupSettings = Static<typeof SetupSettings>;
