import { privateKeyToPem } from '../../proto/keys.js';
import { systemClock } from '../../proto/clock.js';
import { decodeFrame, encodeFrame } from '../../proto/frame-codec.js';
import type { Frame } from '../../proto/schemas/frames.js';
import { IdentityStore } from '../../gateway/identity/identity-store.js';
import { openSession, pinnedRelayKey, type EstablishedSession } from '../../gateway/tunnel/gateway-handshake.js';
import { connectToRelay, relayTlsContext, type RelayConnection } from '../../gateway/tunnel/relay-connector.js';
import { waitFor } from './wait-for.js';

/**
 * A hand-driven gateway session for protocol tests: the real connector and handshake, then the
 * test writes whatever bytes it likes and reads what the relay answers.
 */
export class RawSession {
  readonly received: Frame[] = [];
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly connection: RelayConnection, readonly session: EstablishedSession) {
    // Frames that came right behind welcome (a job offer may) are opened first: nonces count in order.
    for (const message of session.pending) this.received.push(decodeFrame(session.opener.open(message.data)));
    connection.ws.on('message', (data: Buffer) => this.received.push(decodeFrame(session.opener.open(data))));
    connection.ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
  }

  static async open(stateDir: string): Promise<RawSession> {
    const identity = await new IdentityStore(stateDir).load();
    const trust = { kind: 'anchor', caPem: identity.relayCaPem } as const;
    const connection = await connectToRelay({
      relayUrl: identity.relayUrl, trust, proxy: {}, timeoutMs: 10_000, maxFrameBytes: 1 << 20, clock: systemClock,
      secureContext: relayTlsContext(trust, { certPem: identity.clientCertPem, keyPem: privateKeyToPem(identity.signKey.privateKey) }),
    });
    const relay = pinnedRelayKey(identity.relaySignPub);
    return new RawSession(connection, await openSession(connection, { gatewayId: identity.gatewayId, signKey: identity.signKey, relay }, 10_000));
  }

  /** Seals and sends a frame; returns the bytes that went out, for replays. */
  send(frame: unknown): Buffer {
    const bytes = this.session.sealer.seal(encodeFrame(frame as Frame));
    this.connection.ws.send(bytes);
    return bytes;
  }

  sendRaw(bytes: Buffer | string): void {
    this.connection.ws.send(bytes);
  }

  heartbeat(seq: number): Buffer {
    return this.send({ type: 'heartbeat', seq, time: Date.now(), status: { version: 'raw-test', uptime_s: 1 } });
  }

  waitForFrame<T extends Frame['type']>(type: T): Promise<Extract<Frame, { type: T }>> {
    return waitFor(`a ${type} frame`, () => this.received.find((f) => f.type === type) as Extract<Frame, { type: T }> | undefined, 5000);
  }

  waitForClose(): Promise<{ code: number; reason: string }> {
    return waitFor('the relay to close the tunnel', () => this.closed, 5000);
  }

  close(): void {
    this.connection.ws.terminate();
  }
}
