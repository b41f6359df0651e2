// Renders CheckReports: the ✓/✗ step list, the facts, and each error next to the field it names.

const FACT_LABELS = {
  thumbprint: 'Thumbprint',
  version: 'Version',
  apiVersion: 'API version',
  product: 'Product',
  datacenters: 'Datacenters',
  missingPrivileges: 'Missing privileges',
  skewMs: 'Clock skew vs the relay',
  offsetMs: 'NTP offset from this appliance',
  relayTime: 'Relay time',
  relayOffsetMs: 'Relay clock vs this appliance',
  gatewayId: 'Gateway ID',
  tenantId: 'Tenant',
  relayUrl: 'Relay',
};

const el = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};

/** `vcenter.password` → `vcenter-password`, the id of its input (and `-error` of its message). */
export const fieldId = (field) => field.replace(/\./g, '-');

/** Which step a field belongs to: `proxy.httpsProxy` → `proxy`; relayUrl and caPin → `relay`. */
export function stepOfField(field) {
  if (field === 'relayUrl' || field === 'caPin') return 'relay';
  if (field === 'pairingCode') return 'pairing';
  const head = field.split('.')[0];
  return ['proxy', 'network', 'ntp', 'vcenter'].includes(head) ? head : undefined;
}

/** The closest element named for `field`: `network.dns.1` falls back to `network.dns`. */
function errorSlotFor(field) {
  const parts = field.split('.');
  while (parts.length > 0) {
    const id = fieldId(parts.join('.'));
    const slot = document.getElementById(`${id}-error`);
    if (slot) return { slot, input: document.getElementById(id) ?? undefined };
    parts.pop();
  }
  return undefined;
}

export function renderError(slot, error) {
  slot.replaceChildren();
  slot.append(el('span', 'code', error.code), document.createTextNode(error.message));
  slot.dataset.code = error.code;
  slot.hidden = false;
}

function clearSlot(slot) {
  slot.replaceChildren();
  delete slot.dataset.code;
  slot.hidden = true;
}

/** Clears the marks of one step (its field errors and step error) before a new answer is shown. */
export function clearStepErrors(step) {
  const fieldset = document.getElementById(`step-${step}`);
  if (!fieldset) return;
  for (const slot of fieldset.querySelectorAll('.field-error')) clearSlot(slot);
  for (const input of fieldset.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
}

/**
 * Shows `error` next to its field when the page has one in `fallbackStep`, else under that step.
 * Returns the slot used, so a caller can scroll to it.
 */
export function showError(error, fallbackStep) {
  // A field of another step (the NTP check naming relayUrl) is reported under the step that failed.
  const own = error.field && (!fallbackStep || stepOfField(error.field) === fallbackStep);
  const named = own ? errorSlotFor(error.field) : undefined;
  const slot = named?.slot ?? (fallbackStep ? document.getElementById(`${fallbackStep}-error`) : null);
  if (!slot) return undefined;
  renderError(slot, error);
  const input = named?.input;
  if (input && input.type !== 'hidden') input.setAttribute('aria-invalid', 'true');
  return slot;
}

export function renderChecks(list, steps) {
  list.replaceChildren(...steps.map((s) => {
    const item = el('li');
    item.dataset.step = s.step;
    item.dataset.ok = String(s.ok);
    item.append(el('span', 'mark', s.ok ? '✓' : '✗'), el('span', 'name', s.step), el('span', 'detail', s.detail));
    item.setAttribute('aria-label', `${s.step}: ${s.ok ? 'passed' : 'failed'}: ${s.detail}`);
    return item;
  }));
}

function formatFact(key, value) {
  if (/(skew|offset)/i.test(key) && typeof value === 'number') return `${value >= 0 ? '+' : '−'}${(Math.abs(value) / 1000).toFixed(2)} s`;
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

export function renderFacts(list, facts = {}) {
  const entries = Object.entries(facts);
  list.replaceChildren(...entries.flatMap(([key, value]) => {
    const dt = el('dt', undefined, FACT_LABELS[key] ?? key);
    const dd = el('dd', undefined, formatFact(key, value));
    dd.dataset.fact = key;
    return [dt, dd];
  }));
  list.hidden = entries.length === 0;
}

/** idle | busy | ok | error, with the words shown. */
export function setBadge(step, state, text) {
  const badge = document.getElementById(`${step}-badge`);
  if (!badge) return;
  badge.dataset.state = state;
  badge.textContent = text;
}

/** Everything a check answered, rendered into its step. */
export function renderStepReport(step, report) {
  clearStepErrors(step);
  renderChecks(document.getElementById(`${step}-checks`), report.steps);
  const facts = { ...(report.facts ?? {}) };
  // The thumbprint has its own confirmation box.
  if (step === 'vcenter') {
    delete facts.thumbprint;
    delete facts.thumbprintConfirmed;
  }
  renderFacts(document.getElementById(`${step}-facts`), facts);
  if (report.ok) setBadge(step, 'ok', 'Passed');
  else {
    setBadge(step, 'error', 'Failed');
    if (report.error) showError(report.error, step);
  }
}
