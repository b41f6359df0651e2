// The installer wizard's page: token → setup form → status, without reloads.
// Plain ES modules: the server sends CSP default-src 'self', so nothing here is inline.
import { renderError } from './report-view.js';
import { SetupForm } from './setup-form.js';
import { renderStatus, StateFeed } from './status-view.js';
import { tokenStore, WizardClient } from './wizard-client.js';

const $ = (id) => document.getElementById(id);

/** Any well-formed code does: the format check proves the token without touching anything. */
const TOKEN_PROBE = { pairingCode: '0000-0000-0000-0000' };

let view = 'loading';
let lastState;

function show(name) {
  view = name;
  $('loading').hidden = true;
  $('token-view').hidden = name !== 'token';
  $('setup-form').hidden = name !== 'setup';
  $('status-view').hidden = name !== 'status';
}

const client = new WizardClient({
  onTokenRefused: (message) => showToken({ code: 'PCG_ERR_SETUP_TOKEN', message }),
  onSetupComplete: () => void showStatus(),
});

const form = new SetupForm({ client, onPaired: () => void client.state().then(showStatus, () => showStatus()) });

const feed = new StateFeed((state) => {
  lastState = state;
  if (state.fingerprint) showFingerprint(state.fingerprint);
  showLastSetup(state);
  form.showPhase(state);
  // A setup run elsewhere (the unattended one) ended without completing: back to the form.
  if (view === 'status' && state.phase === 'setup') {
    if (tokenStore.get()) showSetup();
    else showToken();
  } else if (view === 'status') renderStatus(state);
  // Set up from elsewhere (another tab, `pcg-installer setup`): the token is spent.
  else if (state.phase === 'configured' && !form.running) void showStatus(state);
});

/** The unattended setup's failure, shown until setup completes. */
function showLastSetup(state) {
  const failed = state.phase !== 'configured' && state.lastSetup && !state.lastSetup.ok ? state.lastSetup.error : undefined;
  if (!failed) {
    $('last-setup').hidden = true;
    return;
  }
  const where = failed.field ? `${failed.field}: ` : '';
  renderError($('last-setup'), { code: failed.code, message: `The unattended setup from the vApp properties did not complete: ${where}${failed.message}` });
}

function showFingerprint(fingerprint) {
  $('fingerprint').textContent = fingerprint;
  $('status-fingerprint').textContent = fingerprint || '—';
  $('fingerprint-box').hidden = !fingerprint;
}

function showToken(error) {
  tokenStore.clear();
  show('token');
  const slot = $('token-error');
  if (error) {
    renderError(slot, error);
    $('token').setAttribute('aria-invalid', 'true');
  } else slot.hidden = true;
  $('token').focus();
}

function showSetup() {
  show('setup');
  form.start();
  if (!$('relayUrl').value) $('relayUrl').focus();
}

async function showStatus(state) {
  const shown = state ?? lastState ?? (await client.state());
  // Spent once configured; while another process pairs, kept for the form should that setup fail.
  if (shown.phase === 'configured') tokenStore.clear();
  show('status');
  renderStatus(shown);
  feed.open();
}

async function submitToken(event) {
  event.preventDefault();
  const token = $('token').value.trim();
  if (!token) {
    showToken({ code: 'PCG_ERR_SETUP_TOKEN', message: "enter the setup token shown on this VM's console." });
    return;
  }
  $('token-submit').disabled = true;
  const { status, report } = await client.post('/api/check/pairing-code', TOKEN_PROBE, token);
  $('token-submit').disabled = false;
  // 401 and 409 were handled by the client's hooks (token screen with the reason; status page).
  if (status === 401 || status === 409) return;
  if (status === 0 || status === 429 || status >= 500) {
    showToken(report.error);
    return;
  }
  $('token').value = '';
  $('token').removeAttribute('aria-invalid');
  $('token-error').hidden = true;
  tokenStore.set(token);
  showSetup();
}

async function start() {
  $('token-form').addEventListener('submit', (event) => void submitToken(event));
  let state;
  try {
    state = await client.state();
  } catch (err) {
    $('loading').hidden = true;
    $('load-error').textContent = `The wizard did not answer: ${err instanceof Error ? err.message : String(err)}. Reload the page to try again.`;
    $('load-error').hidden = false;
    return;
  }
  lastState = state;
  showFingerprint(state.fingerprint);
  showLastSetup(state);
  feed.open();
  if (state.phase !== 'setup') await showStatus(state);
  else if (tokenStore.get()) showSetup();
  else showToken();
}

void start();
