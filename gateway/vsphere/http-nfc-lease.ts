import { PcgError } from '../../proto/errors.js';
import { retrieveProperties, singleObjectSpec } from './property-collector.js';
import { child, el, moRef, text, toArray, type MoRef } from './soap-xml.js';
import type { VimCaller } from './vim-caller.js';

/** Where one file of an import goes (HttpNfcLeaseDeviceUrl). */
export interface LeaseDeviceUrl {
  /** Matches an import spec file item's deviceId. */
  readonly importKey: string;
  /** An NFC URL on vCenter (host `*`: the host the client talks to) or on an ESXi host. */
  readonly url: string;
  /** Thumbprint of the certificate at `url`'s host, when vCenter gives one. */
  readonly sslThumbprint: string;
  readonly disk: boolean;
}

export interface LeaseInfo {
  /** The VM being imported. */
  readonly entity: MoRef;
  readonly deviceUrls: readonly LeaseDeviceUrl[];
}

export type LeaseState = 'initializing' | 'ready' | 'done' | 'error';

export interface LeaseWaitOptions {
  /** @default 300_000 (vCenter can take minutes to prepare the hosts' NFC) */
  readonly timeoutMs?: number;
  /** Between two reads of the lease's state. @default 500 */
  readonly pollMs?: number;
  readonly now?: () => number;
}

/**
 * An HttpNfcLease of an import: wait until it is ready, report progress (which also keeps it
 * alive: vCenter drops a lease that hears nothing for its timeout, ~5 min), then complete it, or
 * abort it so vCenter removes the half-imported VM.
 */
export class HttpNfcLease {
  constructor(private readonly session: VimCaller, readonly ref: MoRef) {}

  /**
   * Reads state, error and info through the property collector until the lease leaves
   * `initializing`. A lease in `error` carries vCenter's reason: it becomes the error's message.
   */
  async waitReady(options: LeaseWaitOptions = {}): Promise<LeaseInfo> {
    const now = options.now ?? Date.now;
    const deadline = now() + (options.timeoutMs ?? 300_000);
    for (;;) {
      const [content] = await retrieveProperties(this.session, [{ type: 'HttpNfcLease', paths: ['state', 'error', 'info'] }], singleObjectSpec(this.ref));
      const props = content?.props ?? {};
      const state = text(props.state) as LeaseState;
      if (state === 'ready') return parseInfo(props.info);
      if (state === 'error' || state === 'done') {
        const reason = text(child(props.error, 'localizedMessage')) || `the lease is ${state}`;
        throw new PcgError('PCG_ERR_VCENTER_FAULT', `HttpNfcLease ${this.ref.value}: ${reason}`);
      }
      if (now() >= deadline) throw new PcgError('PCG_ERR_VCENTER_TASK_TIMEOUT', `HttpNfcLease ${this.ref.value} did not become ready in time`);
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
    }
  }

  /** HttpNfcLeaseProgress, 0–100. */
  async progress(percent: number): Promise<void> {
    await this.session.call('HttpNfcLeaseProgress', el('_this', this.ref) + el('percent', Math.max(0, Math.min(100, Math.floor(percent)))));
  }

  /** HttpNfcLeaseComplete: the upload is whole, vCenter makes the VM usable. */
  async complete(): Promise<void> {
    await this.session.call('HttpNfcLeaseComplete', el('_this', this.ref));
  }

  /** HttpNfcLeaseAbort: vCenter deletes what the import created. */
  async abort(): Promise<void> {
    await this.session.call('HttpNfcLeaseAbort', el('_this', this.ref));
  }
}

function parseInfo(node: unknown): LeaseInfo {
  const info = (node ?? {}) as Record<string, unknown>;
  return {
    entity: moRef(info.entity),
    deviceUrls: toArray(info.deviceUrl as Array<Record<string, unknown>>).map((d) => ({
      importKey: text(d.importKey), url: text(d.url), sslThumbprint: text(d.sslThumbprint), disk: text(d.disk) === 'true',
    })),
  };
}
