// The gateway's status (WizardState), public and read-only, and the live feed that updates it.

const $ = (id) => document.getElementById(id);

const NOTES = {
  setup: 'The gateway is not set up yet.',
  pairing: 'Setup is running: pairing with the relay and starting the gateway.',
  configured: 'Setup is complete; this page is read-only and updates by itself.',
};

function formatSince(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function renderStatus(state) {
  const gateway = state.gateway ?? { state: 'stopped' };
  const badge = $('gw-state');
  const shown = state.phase === 'pairing' && gateway.state === 'stopped' ? 'pairing' : gateway.state;
  badge.dataset.state = shown;
  badge.textContent = shown.charAt(0).toUpperCase() + shown.slice(1);
  $('gw-id').textContent = gateway.gatewayId ?? '—';
  $('gw-tenant').textContent = gateway.tenantId ?? '—';
  $('gw-relay').textContent = gateway.relayUrl ?? '—';
  $('gw-since').textContent = gateway.since ? formatSince(gateway.since) : '—';
  $('gw-reason').textContent = gateway.reason ?? '';
  $('gw-reason-row').hidden = !gateway.reason || gateway.state === 'online';
  $('status-note').textContent = NOTES[state.phase] ?? '';
}

/**
 * `GET /api/state/events`: one `state` event per change. EventSource reconnects by itself; the
 * line under the status says whether the page is live.
 */
export class StateFeed {
  constructor(listener) {
    this.listener = listener;
    this.source = undefined;
  }

  open() {
    if (this.source) return;
    const source = new EventSource('/api/state/events');
    const deliver = (event) => {
      try {
        this.listener(JSON.parse(event.data));
      } catch {
        // A malformed event is skipped; the next one carries the whole state again.
      }
    };
    source.addEventListener('state', deliver);
    source.addEventListener('message', deliver);
    source.addEventListener('open', () => ($('status-live').textContent = 'Live: this page updates as the gateway changes state.'));
    source.addEventListener('error', () => ($('status-live').textContent = 'Live updates interrupted; reconnecting…'));
    this.source = source;
  }
}
