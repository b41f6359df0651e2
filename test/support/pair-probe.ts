import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { buildCsr } from '../../proto/csr.js';
import { generateKeyPair } from '../../proto/keys.js';
import { parsePairingCode } from '../../proto/pairing-code.js';
import { SUPPORTED_PROTOCOLS } from '../../proto/version.js';

/** What a raw client saw after one opening message: the relay's first reply, the close, and the time to the reply. */
export interface ProbeResult {
  readonly reply: { type: string; code?: string; message?: string; retry_after_ms?: number };
  readonly close: { code: number; reason: string };
  /** Every message the relay sent, in order (`binary` for binary ones). */
  readonly messages: Array<{ type: string; code?: string }>;
  /** From sending the opening message to the first reply, ms (TLS and upgrade excluded). */
  readonly ms: number;
}

const signKey = generateKeyPair('Ed25519');
const csr = buildCsr('pairing-probe', signKey.privateKey, signKey.publicKey);

/** A schema-valid `pair` message for `code` (XXXX-XXXX-XXXX-XXXX), as an independent client would write it. */
export function pairMessage(code: string): Record<string, unknown> {
  const { id, secret } = parsePairingCode(code);
  return {
    type: 'pair', proto: [...SUPPORTED_PROTOCOLS], code_id: id, code_secret: secret, sign_pub: signKey.publicRaw.toString('base64'),
    box_pub: generateKeyPair('X25519').publicRaw.toString('base64'), csr, eph_pub: generateKeyPair('X25519').publicRaw.toString('base64'),
    nonce: randomBytes(32).toString('base64'), agent: 'pair-probe/1',
  };
}

/**
 * Opens a raw websocket to the tunnel endpoint, sends `opening` (an object, or raw text), and
 * records what the relay answers. A challenge is not answered: the probe closes after it.
 */
export function probeTunnel(tunnelUrl: string, caPem: string, opening: unknown, options: { cert?: string; key?: string; afterChallenge?: string | Buffer } = {}): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const { afterChallenge, ...tls } = options;
    const messages: ProbeResult['messages'] = [];
    const ws = new WebSocket(tunnelUrl, { ca: caPem, perMessageDeflate: false, ...tls });
    let started = 0n;
    let reply: ProbeResult['reply'] | undefined;
    let ms = 0;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('the relay neither answered nor closed within 15 s'));
    }, 15_000);
    ws.on('open', () => {
      started = process.hrtime.bigint();
      ws.send(typeof opening === 'string' || Buffer.isBuffer(opening) ? opening : JSON.stringify(opening));
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const message = isBinary ? { type: 'binary' } : JSON.parse(data.toString('utf8')) as ProbeResult['reply'];
      messages.push(message);
      if (reply) return;
      ms = Number(process.hrtime.bigint() - started) / 1e6;
      reply = message;
      if (reply.type !== 'challenge') return;
      if (afterChallenge === undefined) ws.close(1000);
      else ws.send(afterChallenge);
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ reply: reply ?? { type: 'none' }, close: { code, reason: reason.toString() }, ms, messages });
    });
  });
}
