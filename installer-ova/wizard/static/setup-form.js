// The setup form: SetupSettings (setup/setup-settings.ts) from the fields, each step checked live
// by its /api/check/* route, and "Pair and start" posting /api/setup.
import { attachPairingCodeFormatting, pairingCodeFormatError } from './pairing-code-input.js';
import { clearStepErrors, fieldId, renderChecks, renderError, renderFacts, renderStepReport, setBadge, showError, stepOfField } from './report-view.js';

/** Long enough to let a blur and the change before it count once, short enough to feel live. */
const DEBOUNCE_MS = 300;

const $ = (id) => document.getElementById(id);
const text = (id) => $(id).value.trim();
const list = (value) => value.split(/[\s,]+/).filter(Boolean);
const defined = (object) => Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));

function collectProxy() {
  const httpsProxy = text('proxy-httpsProxy');
  if (!httpsProxy) return undefined;
  return defined({ httpsProxy, noProxy: text('proxy-noProxy') || undefined, proxyCaPem: text('proxy-proxyCaPem') || undefined });
}

function collectNetwork() {
  if (!$('network-mode-static').checked) return { mode: 'dhcp' };
  const prefix = Number.parseInt(text('network-prefix'), 10);
  return { mode: 'static', ip: text('network-ip'), prefix: Number.isNaN(prefix) ? 0 : prefix, gateway: text('network-gateway'), dns: list(text('network-dns')) };
}

function collectVcenter() {
  const host = text('vcenter-host');
  const user = text('vcenter-user');
  // Passwords are taken as typed: leading or trailing spaces may be part of them.
  const password = $('vcenter-password').value;
  if (!host && !user && !password) return undefined;
  return defined({ host, user, password, thumbprint: text('vcenter-thumbprint') || undefined });
}

/** The form as SetupSettings; optional parts are left out when empty. */
export function collectSettings() {
  const servers = list(text('ntp-servers'));
  return defined({
    relayUrl: text('relayUrl'),
    caPin: text('caPin') || undefined,
    pairingCode: text('pairingCode'),
    proxy: collectProxy(),
    network: collectNetwork(),
    ntp: servers.length > 0 ? { servers } : undefined,
    vcenter: collectVcenter(),
  });
}

/**
 * Each step's check: the route, when it is worth asking without a click (`ready`), the body, and
 * the badge shown while a step is left empty on purpose (`idle`).
 */
const CHECKS = {
  relay: { path: '/api/check/relay', ready: (s) => Boolean(s.relayUrl), body: (s) => defined({ relayUrl: s.relayUrl, caPin: s.caPin, proxy: s.proxy }) },
  pairing: { path: '/api/check/pairing-code', ready: (s) => !pairingCodeFormatError(s.pairingCode, true), body: (s) => ({ pairingCode: s.pairingCode }) },
  proxy: {
    path: '/api/check/proxy', ready: (s) => Boolean(s.proxy && s.relayUrl), idle: (s) => (s.proxy ? undefined : 'Not needed'),
    body: (s) => ({ proxy: s.proxy ?? { httpsProxy: '' }, relayUrl: s.relayUrl }),
  },
  network: { path: '/api/check/network', ready: (s) => s.network.mode === 'dhcp' || Boolean(s.network.ip && s.network.gateway), body: (s) => s.network },
  ntp: {
    path: '/api/check/ntp', ready: (s) => Boolean(s.relayUrl), idle: (s) => (s.relayUrl ? undefined : 'Needs the relay'),
    body: (s) => defined({ ntp: s.ntp ?? { servers: [] }, relayUrl: s.relayUrl, caPin: s.caPin, proxy: s.proxy }),
  },
  vcenter: {
    path: '/api/check/vcenter', ready: (s) => Boolean(s.vcenter?.host && s.vcenter.user && s.vcenter.password),
    idle: (s) => (s.vcenter ? undefined : 'Not checked'), body: (s) => s.vcenter ?? { host: '', user: '', password: '' },
  },
};

/** A change in one step can change the answer of others (the proxy carries the relay checks). */
const AFFECTS = { relay: ['relay', 'proxy', 'ntp'], pairing: ['pairing'], proxy: ['proxy', 'relay', 'ntp'], network: ['network'], ntp: ['ntp'], vcenter: ['vcenter'] };

export class SetupForm {
  /** @param {{ client: import('./wizard-client.js').WizardClient, onPaired: (report: object) => void }} options */
  constructor(options) {
    this.client = options.client;
    this.onPaired = options.onPaired;
    this.started = false;
    this.running = false;
    this.timers = {};
    this.sequence = {};
    this.lastBody = {};
    this.thumbprint = { host: '', value: '' };
    this.deferred = new Set();
    this.pairingSeen = '';
  }

  /** Wires the form once and runs the checks that can run with what is filled in. */
  start() {
    if (this.started) return;
    this.started = true;
    for (const step of Object.keys(CHECKS)) {
      const fieldset = $(`step-${step}`);
      const later = () => AFFECTS[step].forEach((s) => this.schedule(s));
      fieldset.addEventListener('change', later);
      fieldset.addEventListener('focusout', later);
      $(`${step}-check`).addEventListener('click', () => void this.check(step, true));
      // Enter in a field checks its step; only the button itself pairs (implicit submission would).
      fieldset.addEventListener('keydown', (event) => {
        if (event.key !== 'Enter' || !(event.target instanceof HTMLInputElement)) return;
        event.preventDefault();
        void this.check(step, true);
      });
    }
    attachPairingCodeFormatting($('pairingCode'), (value) => this.pairingTyped(value));
    $('pairingCode').addEventListener('blur', () => this.pairingTyped(text('pairingCode'), true));
    for (const radio of document.querySelectorAll('input[name="network-mode"]')) {
      radio.addEventListener('change', () => ($('network-static').hidden = !$('network-mode-static').checked));
    }
    $('vcenter-host').addEventListener('input', () => this.forgetThumbprintUnlessSameHost());
    $('relayUrl').addEventListener('input', () => ($('relayUrl-normalized').hidden = true));
    $('vcenter-confirm').addEventListener('change', () => this.confirmThumbprint());
    $('setup-form').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submit();
    });
    for (const step of Object.keys(CHECKS)) this.schedule(step);
  }

  schedule(step) {
    clearTimeout(this.timers[step]);
    this.timers[step] = setTimeout(() => void this.check(step, false), DEBOUNCE_MS);
  }

  /** Asks the server about one step; `force` (a Check button) asks even when nothing changed. */
  async check(step, force) {
    // The form is frozen while setup runs; what changed just before is checked once it is back.
    if (this.running) {
      this.deferred.add(step);
      return;
    }
    const def = CHECKS[step];
    const settings = collectSettings();
    if (!force && !def.ready(settings)) {
      const idle = def.idle?.(settings);
      if (idle) this.resetStep(step, idle);
      return;
    }
    if (step === 'pairing' && this.pairingTyped(settings.pairingCode, true)) return;
    const body = def.body(settings);
    const key = JSON.stringify(body);
    if (!force && key === this.lastBody[step]) return;
    this.lastBody[step] = key;
    const seq = (this.sequence[step] = (this.sequence[step] ?? 0) + 1);
    setBadge(step, 'busy', 'Checking…');
    const { status, report } = await this.client.post(def.path, body);
    // A newer check of the same step has been sent meanwhile: its answer is the one to show.
    if (seq !== this.sequence[step]) return;
    if (status === 0 || status === 401) delete this.lastBody[step];
    renderStepReport(step, report);
    this.applyNormalized(step, report, body);
    if (step === 'vcenter') this.showThumbprint(report, body);
  }

  resetStep(step, label) {
    this.sequence[step] = (this.sequence[step] ?? 0) + 1;
    delete this.lastBody[step];
    clearStepErrors(step);
    renderChecks($(`${step}-checks`), []);
    renderFacts($(`${step}-facts`), {});
    setBadge(step, 'idle', label);
  }

  /** Client-side format check; returns true when it found an error (and showed it). */
  pairingTyped(value, complete = false) {
    const error = pairingCodeFormatError(value, complete && value.length > 0);
    // Leaving the field unchanged keeps what is shown (e.g. setup's PCG_ERR_PAIR_CODE_INVALID).
    const changed = value !== this.pairingSeen;
    this.pairingSeen = value;
    if (!error) {
      if (changed) clearStepErrors('pairing');
      if (!value) setBadge('pairing', 'idle', 'Not checked');
      return false;
    }
    clearStepErrors('pairing');
    delete this.lastBody.pairing;
    renderChecks($('pairing-checks'), []);
    showError(error, 'pairing');
    setBadge('pairing', 'error', 'Failed');
    return true;
  }

  /** Shows what the server normalised (e.g. the endpoint without its trailing slash) and uses it. */
  applyNormalized(step, report, body) {
    for (const [field, value] of Object.entries(report.normalized ?? {})) {
      const input = $(fieldId(field));
      if (!input || input.type === 'password' || input.type === 'hidden') continue;
      const sent = field.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), body);
      // The user typed on meanwhile: their newer text wins.
      if (sent !== undefined && input.value.trim() !== sent) continue;
      input.value = value;
      const note = $(`${fieldId(field)}-normalized`);
      if (note && sent !== undefined && sent !== value) {
        note.replaceChildren(document.createTextNode('Normalised to '), Object.assign(document.createElement('code'), { textContent: value }),
          document.createTextNode(` (typed: ${sent})`));
        note.hidden = false;
      }
    }
    this.lastBody[step] = JSON.stringify(CHECKS[step].body(collectSettings()));
  }

  showThumbprint(report, body) {
    const shown = report.facts?.thumbprint;
    if (typeof shown !== 'string' || !shown) return;
    // The check stops before the password is sent until the admin confirms: a question, not a failure.
    if (!body.thumbprint && report.error?.field === 'vcenter.thumbprint') {
      $('vcenter-thumbprint-error').hidden = true;
      setBadge('vcenter', 'warn', 'Confirm the thumbprint');
    }
    this.thumbprint = { host: body.host, value: shown };
    const confirmed = text('vcenter-thumbprint') === shown;
    if (!confirmed) $('vcenter-thumbprint').value = '';
    $('vcenter-confirm').checked = confirmed;
    $('vcenter-thumbprint-host').textContent = body.host;
    $('vcenter-thumbprint-shown').textContent = shown;
    $('vcenter-thumbprint-box').dataset.confirmed = String(confirmed);
    $('vcenter-thumbprint-box').hidden = false;
  }

  confirmThumbprint() {
    const confirmed = $('vcenter-confirm').checked;
    $('vcenter-thumbprint').value = confirmed ? this.thumbprint.value : '';
    $('vcenter-thumbprint-box').dataset.confirmed = String(confirmed);
    if (confirmed) void this.check('vcenter', true);
  }

  /** A different vCenter: the admin confirms its thumbprint afresh. */
  forgetThumbprintUnlessSameHost() {
    if (text('vcenter-host') === this.thumbprint.host) return;
    $('vcenter-thumbprint').value = '';
    $('vcenter-confirm').checked = false;
    $('vcenter-thumbprint-box').hidden = true;
  }

  setRunning(running) {
    this.running = running;
    for (const fieldset of document.querySelectorAll('#setup-form fieldset')) fieldset.disabled = running;
    $('setup-submit').disabled = running;
    $('setup-progress').dataset.done = String(!running);
    if (!running) {
      for (const step of this.deferred) this.schedule(step);
      this.deferred.clear();
    }
  }

  /** While setup runs the state feed says what it is doing. */
  showPhase(state) {
    if (!this.running) return;
    const gateway = state.gateway?.state;
    $('setup-progress-text').textContent = state.phase === 'pairing' && gateway && gateway !== 'stopped'
      ? `Pairing with the relay… gateway ${gateway}` : 'Pairing with the relay…';
  }

  async submit() {
    if (this.running) return;
    const banner = $('setup-error');
    banner.hidden = true;
    const settings = collectSettings();
    if (this.pairingTyped(settings.pairingCode, true) || !settings.pairingCode) {
      const error = pairingCodeFormatError(settings.pairingCode, true) ?? { code: 'PCG_ERR_PAIR_CODE_FORMAT', message: 'enter the pairing code the portal shows.', field: 'pairingCode' };
      showError(error, 'pairing');
      renderError(banner, error);
      $('pairingCode').focus();
      return;
    }
    this.setRunning(true);
    $('setup-progress').hidden = false;
    $('setup-progress-text').textContent = 'Checking the settings and pairing with the relay…';
    renderChecks($('setup-checks'), []);
    const { report } = await this.client.post('/api/setup', settings);
    renderChecks($('setup-checks'), report.steps);
    if (report.ok) {
      $('setup-progress-text').textContent = 'Paired; the gateway is starting.';
      this.onPaired(report);
      return;
    }
    const error = report.error ?? { code: 'PCG_ERR_INTERNAL', message: 'setup failed' };
    const step = error.field ? stepOfField(error.field) : undefined;
    if (step) {
      // Setup's answer stands next to the field until the field changes: no re-check of the same value replaces it.
      this.deferred.delete(step);
      this.lastBody[step] = JSON.stringify(CHECKS[step].body(settings));
    }
    this.setRunning(false);
    // After the relay accepted the code the pairing is kept (setup resumes it), so say which case this is.
    const paired = report.steps.some((s) => s.step === 'pair' && s.ok);
    $('setup-progress-text').textContent = paired
      ? 'Paired, but setup did not complete; fix what is named below and select Pair and start again (the pairing is kept).'
      : 'Setup did not complete and nothing was saved; fix the step named below and try again.';
    renderError(banner, error);
    if (step) {
      this.sequence[step] = (this.sequence[step] ?? 0) + 1;
      showError(error, step);
      setBadge(step, 'error', 'Failed');
    }
    banner.scrollIntoView({ block: 'center' });
  }
}
