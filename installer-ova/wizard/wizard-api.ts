import { Type, type Static } from '@sinclair/typebox';
import { CheckError, CheckReport, CheckStep } from '../setup/check-report-schema.js';
import { NtpSettings, ProxySettings } from '../setup/setup-settings.js';

export { CheckError, CheckReport, CheckStep };

/**
 * The wizard's HTTP API (HTTPS :5080), shared by the server (wizard/wizard-routes.ts) and the
 * page (wizard/static/wizard.js), documented in installer-ova/README.md.
 *
 *   GET  /                         the page (setup form, or the status page once set up)
 *   GET  /api/state                public: { phase, gateway, lastSetup? } (WizardState)
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
 * 401 PCG_ERR_SETUP_TOKEN; after setup 409 PCG_ERR_SETUP_COMPLETE; /api/setup while a setup runs
 * (here, or the unattended one, or `pcg-installer setup`: installer-dir/setup.lock) 409
 * PCG_ERR_CONFLICT. A check that fails is still 200 with `ok: false`: the failure is the answer,
 * named by step, code and field.
 */
export const WizardState = Type.Object({
  /** `setup`: waiting for the form; `pairing`: setup running (here or in another process); `configured`: token spent, status page. */
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
  /**
   * The outcome of the unattended setup from the vApp properties (installer-dir/auto-setup-report.json),
   * once it ran: the page says why it failed, so the admin need not read the journal.
   */
  lastSetup: Type.Optional(Type.Object({ ok: Type.Boolean(), error: Type.Optional(CheckError) })),
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

export type WizardState = Static<typeof WizardState>;
export type RelayCheckRequest = Static<typeof RelayCheckRequest>;
export type ProxyCheckRequest = Static<typeof ProxyCheckRequest>;
export type NtpCheckRequest = Static<typeof NtpCheckRequest>;
export type ApiError = Static<typeof ApiError>;
