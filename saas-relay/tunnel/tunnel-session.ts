import type { Logger } from 'pino';
import type WebSocket from 'ws';
import type { Clock } from '../../proto/clock.js';
import { verifyCsr } from '../../proto/csr.js';
import { PcgError, isErrorCode, type ErrorCode } from '../../proto/errors.js';
import { decodeFrame, encodeFrame } from '../../proto/frame-codec.js';
import { FrameOpener, FrameSealer } from '../../proto/frame-sealer.js';
import { rawPublicKey } from '../../proto/keys.js';
import { GATEWAY_FRAME_TYPES, type Frame } from '../../proto/schemas/frames.js';
import type { InventoryItem, InventoryKind } from '../../proto/schemas/inventory.js';
import type { GatewayStore } from '../store/gateway-store.js';
import type { CertificateAuthority } from '../tls/certificate-authority.js';

/** What a session needs from the relay: a narrow port, so tests can drive it with fakes. */
export interface SessionServices {
  readonly gateways: GatewayStore;
  readonly ca: CertificateAuthority;
  readonly clock: Clock;
  readonly log: Logger;
  readonly clientCertLifetimeMs: number;
  /** Called once when the socket closes. */
  readonly onClosed: (session: TunnelSession) => void;
}

export type SessionState = 'open' | 'closing' | 'closed';

/**
 * One authenticated tunnel after the handshake: every frame in either direction is sealed;
 * heartbeats refresh the stored liveness; a frame that fails authentication ends the session,
 * a well-sealed but invalid frame gets an error frame and the session goes on.
 */
export class TunnelSession {
  state: SessionState = 'open';
  lastFrameAt: number;
  readonly #pendingEchoes = new Map<number, (data: string) => void>();
  #nextEchoId = 0;
  readonly #pendingInventory = new Map<number, { resolve: (items: InventoryItem[]) => void; reject: (err: PcgError) => void; timer: NodeJS.Timeout }>();
  #nextInventoryId = 0;

  constructor(
    readonly gatewayId: string,
    readonly tenantId: string,
    readonly epoch: number,
    readonly signPub: string,
    private readonly ws: WebSocket,
    private readonly sealer: FrameSealer,
    private readonly opener: FrameOpener,
    private readonly services: SessionServices,
  ) {
    this.lastFrameAt = services.clock.now();
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    ws.once('close', () => {
      this.state = 'closed';
      this.#pendingEchoes.clear();
      for (const pending of this.#pendingInventory.values()) {
        clearTimeout(pending.timer);
        pending.reject(new PcgError('PCG_ERR_GATEWAY_OFFLINE', `the tunnel of gateway ${this.gatewayId} closed before it answered`));
      }
      this.#pendingInventory.clear();
      services.onClosed(this);
    });
  }

  send(frame: Frame): void {
    if (this.state !== 'open') return;
    this.ws.send(this.sealer.seal(encodeFrame(frame)));
  }

  /** Closes with the catalogue's close code for `code`; idempotent. */
  close(code: ErrorCode | 'normal', detail?: string): void {
    if (this.state !== 'open') return;
    this.state = 'closing';
    if (code === 'normal') {
      this.ws.close(1000, 'bye');
      return;
    }
    const error = new PcgError(code, detail);
    this.ws.close(error.closeCode, code);
    // A peer that never answers the close handshake must not hold the socket.
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  /** Relay→gateway→relay round trip of `data`; resolves with the echoed data. */
  echo(data: string): Promise<string> {
    const id = this.#nextEchoId++;
    return new Promise((resolve) => {
      this.#pendingEchoes.set(id, resolve);
      this.send({ type: 'echo', id, data });
    });
  }

  /** Live inventory from the gateway's vCenter; rejects with PCG_ERR_GATEWAY_TIMEOUT after `timeoutMs`. */
  requestInventory(kind: InventoryKind, datacenter: string | undefined, timeoutMs: number): Promise<InventoryItem[]> {
    const id = this.#nextInventoryId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pendingInventory.delete(id);
        reject(new PcgError('PCG_ERR_GATEWAY_TIMEOUT', `gateway ${this.gatewayId} did not answer the inventory request within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pendingInventory.set(id, { resolve, reject, timer });
      this.send({ type: 'inventory.request', id, kind, ...(datacenter ? { datacenter } : {}) });
    });
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.state !== 'open') return;
    let frame: Frame;
    try {
      if (!isBinary) throw new PcgError('PCG_ERR_FRAME_AUTH', 'unsealed text message after the handshake');
      const plaintext = this.opener.open(data);
      this.lastFrameAt = this.services.clock.now();
      frame = decodeFrame(plaintext, GATEWAY_FRAME_TYPES);
    } catch (err) {
      this.#onBadFrame(err);
      return;
    }
    this.#dispatch(frame).catch((err: unknown) => this.#onBadFrame(err));
  }

  #onBadFrame(err: unknown): void {
    const error = err instanceof PcgError ? err : new PcgError('PCG_ERR_INTERNAL', 'frame handling failed', { cause: err });
    if (error.code === 'PCG_ERR_FRAME_AUTH') {
      this.services.log.warn({ gatewayId: this.gatewayId, code: error.code, detail: error.detail }, 'closing tunnel: frame failed authentication');
      this.close('PCG_ERR_FRAME_AUTH', error.detail);
      return;
    }
    this.services.log.info({ gatewayId: this.gatewayId, code: error.code, detail: error.detail }, 'rejected frame');
    this.send({ type: 'error', code: error.code, message: error.message.slice(0, 2048) });
  }

  async #dispatch(frame: Frame): Promise<void> {
    switch (frame.type) {
      case 'heartbeat': {
        const now = this.services.clock.now();
        const standing = await this.services.gateways.recordHeartbeat(this.gatewayId, this.epoch, {
          version: frame.status.version, clockSkewMs: frame.time - now, certExpiresAt: frame.status.cert_expires_at,
        });
        // The event feed may not have told this relay yet; the store already knows.
        if (standing === 'revoked') {
          this.close('PCG_ERR_GATEWAY_REVOKED');
          return;
        }
        if (standing === 'superseded') {
          this.close('PCG_ERR_SESSION_SUPERSEDED', 'a newer session of this gateway exists');
          return;
        }
        this.send({ type: 'heartbeat.ack', seq: frame.seq, server_time: now });
        return;
      }
      case 'cert.renew': {
        const csr = verifyCsr(frame.csr);
        if (!rawPublicKey(csr.publicKey).equals(Buffer.from(this.signPub, 'base64'))) {
          throw new PcgError('PCG_ERR_CERT_RENEW', 'the CSR is not for the key this gateway paired with');
        }
        const cert = this.services.ca.issueClient(this.gatewayId, csr.publicKey, this.services.clock.now(), this.services.clientCertLifetimeMs);
        await this.services.gateways.recordCertificate(this.gatewayId, this.epoch, cert.serial, cert.notAfter);
        this.services.log.info({ gatewayId: this.gatewayId, serial: cert.serial, notAfter: cert.notAfter }, 'gateway certificate renewed');
        this.send({ type: 'cert.renewed', cert: cert.certPem, cert_expires_at: cert.notAfter });
        return;
      }
      case 'echo.reply': {
        const resolve = this.#pendingEchoes.get(frame.id);
        this.#pendingEchoes.delete(frame.id);
        resolve?.(frame.data);
        return;
      }
      case 'vcenter.info':
        await this.services.gateways.recordVcenterInfo(this.gatewayId, { host: frame.host, thumbprint: frame.thumbprint, version: frame.version, datacenters: frame.datacenters });
        this.services.log.info({ gatewayId: this.gatewayId, vcenter: frame.host, version: frame.version }, 'vCenter metadata recorded');
        return;
      case 'inventory.response': {
        const pending = this.#pendingInventory.get(frame.id);
        if (!pending) return;
        this.#pendingInventory.delete(frame.id);
        clearTimeout(pending.timer);
        if (frame.error) pending.reject(PcgError.fromRemote(isErrorCode(frame.error.code) ? frame.error.code : 'PCG_ERR_VCENTER_FAULT', frame.error.message));
        else pending.resolve(frame.items ?? []);
        return;
      }
      case 'error':
        this.services.log.warn({ gatewayId: this.gatewayId, code: isErrorCode(frame.code) ? frame.code : 'unknown', detail: frame.message }, 'gateway reported an error');
        return;
      default:
        throw new PcgError('PCG_ERR_FRAME_INVALID', `frame type ${frame.type} is not accepted from a gateway`);
    }
  }
}
