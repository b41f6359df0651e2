// The page's side of wizard-api.ts: the setup token (kept for this tab only) and the JSON calls.

const TOKEN_KEY = 'pcg-installer-setup-token';

/** sessionStorage, so the token dies with the tab and is never written to disk by the page. */
export const tokenStore = {
  get() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) ?? '';
    } catch {
      return '';
    }
  },
  set(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear() {
    try {
      sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // Storage disabled: nothing was kept.
    }
  },
};

/**
 * Any answer as a CheckReport. Non-report errors ({ code, message }: 401, 409, 400 from schema
 * validation, 429) become a failed report, so the form renders every failure the same way.
 */
export function toReport(status, body) {
  if (body && typeof body.ok === 'boolean' && Array.isArray(body.steps)) return body;
  const err = body && typeof body.error === 'object' && body.error !== null ? body.error : body;
  return {
    ok: false,
    steps: [],
    error: {
      code: typeof err?.code === 'string' ? err.code : `HTTP ${status}`,
      message: typeof err?.message === 'string' ? err.message : 'the wizard gave an unexpected answer',
      ...(typeof err?.field === 'string' ? { field: err.field } : {}),
    },
  };
}

export class WizardClient {
  /**
   * @param {{ onTokenRefused: (message: string) => void, onSetupComplete: () => void }} hooks
   *   called when any call answers 401 PCG_ERR_SETUP_TOKEN or 409 PCG_ERR_SETUP_COMPLETE.
   */
  constructor(hooks) {
    this.hooks = hooks;
  }

  async state() {
    const res = await fetch('/api/state', { headers: { accept: 'application/json' }, cache: 'no-store' });
    if (!res.ok) throw new Error(`GET /api/state answered ${res.status}`);
    return res.json();
  }

  /** POST with the token; resolves to { status, report } and never rejects. */
  async post(path, body, token = tokenStore.get()) {
    let res;
    try {
      res = await fetch(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (err) {
      return { status: 0, report: toReport(0, { code: 'NO_ANSWER', message: `the wizard did not answer (${err instanceof Error ? err.message : String(err)})` }) };
    }
    const data = await res.json().catch(() => null);
    const report = toReport(res.status, data);
    if (res.status === 401 && report.error?.code === 'PCG_ERR_SETUP_TOKEN') this.hooks.onTokenRefused(report.error.message);
    if (res.status === 409 && report.error?.code === 'PCG_ERR_SETUP_COMPLETE') this.hooks.onSetupComplete();
    return { status: res.status, report };
  }
}
