import { Type, type Static } from '@sinclair/typebox';
import { NtpSettings, ProxySettings } from '../setup/setup-settings.js';

/**
 * The wizard's HTTP API (HTTPS :5080), shared by the server (wizard/wizard-routes.ts) and the
 * page (wizard/static/wizard.js), documented in installer-ova/README.md.
 *
 *   GET  /                         the page (setup form, or the status page once set up)
 *   GET  /api/state                public: { phase, gateway }            (WizardState)
 *   GET  /api/state/events         public: SSE, one `state` event per change (WizardState)
 *   POST /api/check/relay          RelaySettings + {proxy?}              → CheckReport
 *   POST /api/check/pairing-code   { pairingCode }                       → CheckReport (format only)
 *   POST /api/check/proxy          { proxy, relayUrl }                   → CheckReport
 *   POST /api/check/network        NetworkSettings                       → CheckReport
 *   POST /api/check/ntp            { ntp, relayUrl, caPin?, proxy? }     → CheckReport (skew vs relay)
 *   POST /api/check/vcenter        VcenterSettings                       → CheckReport (+ thumbprint)
 *   POST /api/setup                SetupSettings                         → CheckReport; 200 when paired
 *
 * Every /api/check and /api/setup call needs `Authorization: Bearer <setup token>`: without it
 * 401 PCG_ERR_SETUP_TOKEN; after setup 409 PCG_ERR_SETUP_COMPLETE. A check that fails is still
 * 200 with `ok: false`: the failure is the answer, named by step, code and field.
 */
export const CheckStep = Type.Object({
  /** e.g. `url`, `dns`, `tcp`, `tls`, `pin`, `proxy`, `format`, `ntp`, `skew`, `login`, `privileges`. */
  step: Type.String(),
  ok: Type.Boolean(),
  /** What was found, for the user: "resolved to 10.0.0.5", "skew 0.4 s", a thumbprint. */
  detail: Type.String(),
});

export const CheckReport = Type.Object({
  ok: Type.Boolean(),
  steps: Type.Array(CheckStep),
  /** Set when ok is false. */
  error: Type.Optional(Type.Object({
    code: Type.String(),
    message: Type.String(),
    /** The form field to mark: `relayUrl`, `caPin`, `pairingCode`, `proxy.httpsProxy`, `vcenter.password`, … */
    field: Type.Optional(Type.String()),
  })),
  /** Values the check normalised, for the form to show back (e.g. relayUrl without its trailing slash). */
  normalized: Type.Optional(Type.Record(Type.String(), Type.String())),
  /** Extra facts: vCenter thumbprint and version, clock skew in ms, the gateway id after setup. */
  facts: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]))),
});

export const WizardState = Type.Object({
  /** `setup`: waiting for the form; `pairing`: setup running; `configured`: token spent, status page. */
  phase: Type.Union([Type.Literal('setup'), Type.Literal('pairing'), Type.Literal('configured')]),
  gateway: Type.Object({
    /** From the gateway's status.json; `stopped` before setup. */
    state: Type.String(),
    gatewayId: Type.Optional(Type.String()),
    tenantId: Type.Optional(Type.String()),
    relayUrl: Type.Optional(Type.String()),
    /** Why it is not online (the gateway's last error code and message), if known. */
    reason: Type.Optional(Type.String()),
    since: Type.Optional(Type.String()),
  }),
  /** Wizard certificate SHA-256 fingerprint, as the console shows it. */
  fingerprint: Type.String(),
});

/** Request bodies of the checks (the others are SetupSettings' own parts: NetworkSettings, VcenterSettings, SetupSettings). */
export const RelayCheckRequest = Type.Object({
  relayUrl: Type.String({ minLength: 1 }),
  caPin: Type.Optional(Type.String()),
  proxy: Type.Optional(ProxySettings),
}, { additionalProperties: false });

export const PairingCodeCheckRequest = Type.Object({ pairingCode: Type.String({ minLength: 1 }) }, { additionalProperties: false });

export const ProxyCheckRequest = Type.Object({ proxy: ProxySettings, relayUrl: Type.String({ minLength: 1 }) }, { additionalProperties: false });

export const NtpCheckRequest = Type.Object({
  ntp: NtpSettings,
  relayUrl: Type.String({ minLength: 1 }),
  caPin: Type.Optional(Type.String()),
  proxy: Type.Optional(ProxySettings),
}, { additionalProperties: false });


/** Every non-200 answer of /api: 400 (body invalid; `field` named), 401, 409, 429, 500. */
export const ApiError = Type.Object({
  code: Type.String(),
  message: Type.String(),
  field: Type.Optional(Type.String()),
});

export type CheckStep = Static<typeof CheckStep>;
export type CheckReport = Static<typeof CheckReport>;
export type WizardState = Static<typeof WizardState>;
export type RelayCheckRequest = Static<typeof RelayCheckRequest>;
export type ProxyCheckRequest = Static<typeof ProxyCheckRequest>;
export type NtpCheckRequest = Static<typeof NtpCheckRequest>;
export type ApiError = Static<typeof ApiError>;
