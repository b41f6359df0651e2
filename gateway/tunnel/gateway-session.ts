import type { Logger } from 'pino';
import type WebSocket from 'ws';
import type { Clock } from '../../proto/clock.js';
import { buildCsr } from '../../proto/csr.js';
import { codeForClose, PcgError, type ErrorCode } from '../../proto/errors.js';
import { decodeFrame, encodeFrame } from '../../proto/frame-codec.js';
import type { FrameOpener, FrameSealer } from '../../proto/frame-sealer.js';
import type { KeyPair } from '../../proto/keys.js';
import { RELAY_FRAME_TYPES, type Frame, type WelcomeFrame } from '../../proto/schemas/index.js';
import type { QueuedMessage } from './message-queue.js';
import type { VcenterPort } from '../vsphere/vcenter-service.js';

/** What a session reports to its owner: a narrow port, faked in unit tests. */
export interface SessionEvents {
  heartbeatAcked(at: number): void;
  certificateRenewed(certPem: string, expiresAt: number): Promise<void>;
}

/** vCenter behind this gateway, when one is configured (see vsphere/vcenter-service.ts). */
export type SessionVcenter = VcenterPort | undefined;

export interface SessionEnd {
  readonly closeCode: number;
  /** Our error code for the close, when it is one. */
  readonly code: ErrorCode | undefined;
  readonly reason: string;
}

export interface GatewaySessionOptions {
  readonly version: string;
  readonly startedAt: number;
  readonly signKey: KeyPair;
  /**
   * Validity of the certificate in use, to decide when to renew (2/3 of its life). Read from the
   * owner each time: it changes when a renewed certificate is stored.
   */
  readonly certWindow: () => { readonly notBefore: number; readonly notAfter: number };
}

/**
 * One live tunnel on the gateway side: heartbeats at the relay's pace, echo replies, certificate
 * renewal at 2/3 of its life. Resolves `ended` when the socket closes; a silent relay (three
 * heartbeats without a frame) is cut so the owner reconnects.
 */
export class GatewaySession {
  readonly ended: Promise<SessionEnd>;
  #seq = 0;
  #lastFrameAt: number;
  #timer: NodeJS.Timeout | undefined;
  #renewing = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly sealer: FrameSealer,
    private readonly opener: FrameOpener,
    readonly welcome: WelcomeFrame,
    pending: QueuedMessage[],
    private readonly options: GatewaySessionOptions,
    private readonly events: SessionEvents,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly vcenter: SessionVcenter = undefined,
  ) {
    this.#lastFrameAt = clock.now();
    this.ended = new Promise((resolve) => {
      ws.once('close', (closeCode: number, reason: Buffer) => {
        clearInterval(this.#timer);
        resolve({ closeCode, code: codeForClose(closeCode), reason: reason.toString() });
      });
    });
    ws.on('message', (data, isBinary) => this.#onMessage({ data: data as Buffer, isBinary }));
    for (const message of pending) this.#onMessage(message);
    // The first heartbeat lands at a random point of the first interval: after a relay restart
    // thousands of gateways reconnect within seconds, and lockstep heartbeats would hit the relay
    // as one burst every interval from then on.
    const intervalMs = welcome.heartbeat_s * 1000;
    this.#timer = setTimeout(() => {
      this.#tick();
      this.#timer = setInterval(() => this.#tick(), intervalMs);
    }, Math.floor(Math.random() * intervalMs));
    if (vcenter) this.#reportVcenter(vcenter);
  }

  /** Tells the relay which vCenter this gateway serves; never the password. */
  #reportVcenter(vcenter: VcenterPort): void {
    vcenter.info()
      .then((info) => this.send({ type: 'vcenter.info', ...info }))
      .catch((err: unknown) => this.log.warn({ code: err instanceof PcgError ? err.code : undefined, detail: err instanceof Error ? err.message : String(err) }, 'cannot report vCenter metadata'));
  }

  #answerInventory(id: number, kind: import('../../proto/schemas/inventory.js').InventoryKind, datacenter: string | undefined): void {
    if (!this.vcenter) {
      const error = new PcgError('PCG_ERR_VCENTER_NOT_CONFIGURED');
      this.send({ type: 'inventory.response', id, error: { code: error.code, message: error.message } });
      return;
    }
    this.vcenter.inventory(kind, datacenter)
      .then((items) => this.send({ type: 'inventory.response', id, items }))
      .catch((err: unknown) => {
        const error = err instanceof PcgError ? err : new PcgError('PCG_ERR_VCENTER_FAULT', String(err));
        this.send({ type: 'inventory.response', id, error: { code: error.code, message: error.message.slice(0, 2048) } });
      });
  }

  send(frame: Frame): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(this.sealer.seal(encodeFrame(frame)));
  }

  close(code: ErrorCode | 'normal'): void {
    clearInterval(this.#timer); // clears the first-beat timeout too (one timer type in Node)
    if (code === 'normal') this.ws.close(1000, 'bye');
    else this.ws.close(new PcgError(code).closeCode, code);
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  #tick(): void {
    const now = this.clock.now();
    const { notBefore, notAfter } = this.options.certWindow();
    if (now - this.#lastFrameAt > 3 * this.welcome.heartbeat_s * 1000) {
      this.log.warn({ silentMs: now - this.#lastFrameAt }, 'relay silent for three heartbeats; reconnecting');
      this.ws.terminate();
      return;
    }
    this.send({
      type: 'heartbeat', seq: this.#seq++, time: now,
      status: { version: this.options.version, uptime_s: Math.round((now - this.options.startedAt) / 1000), cert_expires_at: notAfter },
    });
    const renewAt = notBefore + ((notAfter - notBefore) * 2) / 3;
    if (now >= renewAt && !this.#renewing) {
      this.#renewing = true;
      this.send({ type: 'cert.renew', csr: buildCsr('pcg-gateway', this.options.signKey.privateKey, this.options.signKey.publicKey) });
    }
  }

  #onMessage(message: QueuedMessage): void {
    let frame: Frame;
    try {
      if (!message.isBinary) throw new PcgError('PCG_ERR_FRAME_AUTH', 'unsealed text message after the handshake');
      const plain = this.opener.open(message.data);
      this.#lastFrameAt = this.clock.now();
      frame = decodeFrame(plain, RELAY_FRAME_TYPES);
    } catch (err) {
      const error = err instanceof PcgError ? err : new PcgError('PCG_ERR_INTERNAL', 'frame handling failed', { cause: err });
      if (error.code === 'PCG_ERR_FRAME_AUTH') {
        this.log.warn({ code: error.code, detail: error.detail }, 'closing tunnel: frame from relay failed authentication');
        this.close('PCG_ERR_FRAME_AUTH');
      } else {
        this.send({ type: 'error', code: error.code, message: error.message.slice(0, 2048) });
      }
      return;
    }
    this.#dispatch(frame);
  }

  #dispatch(frame: Frame): void {
    switch (frame.type) {
      case 'heartbeat.ack':
        this.events.heartbeatAcked(this.clock.now());
        return;
      case 'echo':
        this.send({ type: 'echo.reply', id: frame.id, data: frame.data });
        return;
      case 'inventory.request':
        this.#answerInventory(frame.id, frame.kind, frame.datacenter);
        return;
      case 'cert.renewed': {
        this.events.certificateRenewed(frame.cert, frame.cert_expires_at)
          .then(() => this.log.info({ notAfter: new Date(frame.cert_expires_at).toISOString() }, 'client certificate renewed'))
          .catch((err: unknown) => this.log.error({ err }, 'could not store the renewed certificate'))
          .finally(() => {
            this.#renewing = false;
          });
        return;
      }
      case 'error':
        this.log.warn({ code: frame.code, detail: frame.message }, 'relay reported an error');
        if (frame.code === 'PCG_ERR_CERT_RENEW') this.#renewing = false;
        return;
      default:
        this.send({ type: 'error', code: 'PCG_ERR_FRAME_INVALID', message: `frame type ${frame.type} is not accepted from a relay`, ref: frame.type });
    }
  }
}
