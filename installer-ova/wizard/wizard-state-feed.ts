import { gatewayStatus } from '../../gateway/status/gateway-status.js';
import type { SetupProgress } from './setup-progress.js';
import type { WizardState } from './wizard-api.js';

export type WizardPhase = WizardState['phase'];
type Listener = (state: WizardState) => void;

/**
 * The wizard's state for GET /api/state and its SSE feed: the phase (set by the server as setup
 * runs) and the gateway as its status.json says. One timer polls status.json every `pollMs`
 * while anyone listens and tells listeners only of changes; close() stops it.
 *
 * Setup may also run outside this wizard (the appliance's unattended first-boot pairing, or
 * `pcg-installer setup` on the console): while it holds the setup lock the phase shows `pairing`;
 * once its setup record exists the phase is `configured` and `onConfigured` spends the token,
 * without a restart. The unattended setup's outcome is `lastSetup`, so the page can say why it failed.
 */
export class WizardStateFeed {
  #phase: WizardPhase;
  #last: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #polling = false;
  #closed = false;
  readonly #listeners = new Set<Listener>();

  constructor(private readonly stateDir: string, private readonly fingerprint: string, phase: WizardPhase,
    private readonly progress: SetupProgress, private readonly onConfigured: () => void,
    private readonly pollMs = 500) {
    this.#phase = phase;
  }

  get phase(): WizardPhase {
    return this.#phase;
  }

  /**
   * The phase, after looking for a setup completed elsewhere (only while the form is waiting):
   * `pairing` while another process runs setup, without moving this wizard's own phase.
   */
  async refreshPhase(): Promise<WizardPhase> {
    if (this.#phase !== 'setup') return this.#phase;
    if (await this.progress.completed()) {
      this.#phase = 'configured';
      this.onConfigured();
      return this.#phase;
    }
    return await this.progress.running() ? 'pairing' : 'setup';
  }

  async current(): Promise<WizardState> {
    const [phase, gateway, lastSetup] = await Promise.all([this.refreshPhase(), this.#gateway(), this.progress.lastSetup()]);
    return { phase, gateway, fingerprint: this.fingerprint, ...(lastSetup ? { lastSetup } : {}) };
  }

  /** Moves the phase and tells listeners at once, without waiting for the next poll. */
  setPhase(phase: WizardPhase): void {
    this.#phase = phase;
    void this.#poll();
  }

  /** Calls `listener` with every changed state from now on; the returned function unsubscribes. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    if (!this.#timer && !this.#closed) this.#timer = setInterval(() => void this.#poll(), this.pollMs);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#stopTimer();
    };
  }

  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    this.#stopTimer();
  }

  #stopTimer(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #poll(): Promise<void> {
    if (this.#polling || this.#listeners.size === 0) return;
    this.#polling = true;
    try {
      const state = await this.current();
      const text = JSON.stringify(state);
      if (text === this.#last) return;
      this.#last = text;
      for (const listener of this.#listeners) listener(state);
    } catch {
      // status.json mid-rename or identity half-read: the next poll sees it whole.
    } finally {
      this.#polling = false;
    }
  }

  async #gateway(): Promise<WizardState['gateway']> {
    const status = await gatewayStatus(this.stateDir).catch(() => undefined);
    if (!status?.paired) return { state: 'stopped' };
    const reason = status.reason ? `${status.reason.code}: ${status.reason.message}` : status.tunnel !== 'online' ? status.lastError ?? undefined : undefined;
    return {
      state: status.tunnel,
      ...(status.gatewayId ? { gatewayId: status.gatewayId } : {}),
      ...(status.tenantId ? { tenantId: status.tenantId } : {}),
      ...(status.relayUrl ? { relayUrl: status.relayUrl } : {}),
      ...(reason ? { reason } : {}),
      ...(status.since ? { since: status.since } : {}),
    };
  }
}
