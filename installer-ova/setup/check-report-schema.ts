import { Type, type Static } from '@sinclair/typebox';

/**
 * What every check and setup answer with, shared by setup/ (which builds them), the wizard's API
 * (wizard/wizard-api.ts re-exports them) and `pcg-installer setup --json`. Kept in setup/ so the
 * checks never import the wizard.
 */
export const CheckStep = Type.Object({
  /** e.g. `url`, `dns`, `tcp`, `tls`, `pin`, `proxy`, `format`, `ntp`, `skew`, `login`, `privileges`. */
  step: Type.String(),
  ok: Type.Boolean(),
  /** What was found, for the user: "resolved to 10.0.0.5", "skew 0.4 s", a thumbprint. */
  detail: Type.String(),
});

/** Why a check or setup failed: the stable code, a message for the user, the form field to mark. */
export const CheckError = Type.Object({
  code: Type.String(),
  message: Type.String(),
  /** The form field to mark: `relayUrl`, `caPin`, `pairingCode`, `proxy.httpsProxy`, `vcenter.password`, … */
  field: Type.Optional(Type.String()),
});

export const CheckReport = Type.Object({
  ok: Type.Boolean(),
  steps: Type.Array(CheckStep),
  /** Set when ok is false. */
  error: Type.Optional(CheckError),
  /** Values the check normalised, for the form to show back (e.g. relayUrl without its trailing slash). */
  normalized: Type.Optional(Type.Record(Type.String(), Type.String())),
  /** Extra facts: vCenter thumbprint and version, clock skew in ms, the gateway id after setup. */
  facts: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]))),
});

export type CheckStep = Static<typeof CheckStep>;
export type CheckError = Static<typeof CheckError>;
export type CheckReport = Static<typeof CheckReport>;
