import { PcgError } from '../../proto/errors.js';
import { DEFAULT_CONNECTION_GATE_OPTIONS, type ConnectionGateOptions } from './connection-gate.js';
import { DEFAULT_HTTP_TIMEOUTS, type HttpTimeoutOptions } from './http-timeouts.js';

/** Every bound a relay connection is held to, from accept to the end of an HTTP request. */
export type ConnectionLimits = ConnectionGateOptions & HttpTimeoutOptions;

const KEYS = Object.keys({ ...DEFAULT_CONNECTION_GATE_OPTIONS, ...DEFAULT_HTTP_TIMEOUTS }) as Array<keyof ConnectionLimits>;

/**
 * The limits named in `input` (any other keys ignored), defaults for the rest, checked once: every
 * value a positive integer, and the deadlines in an order that can hold (a ClientHello arrives
 * before the TLS handshake ends; headers before the whole request).
 */
export function connectionLimits(input: Partial<ConnectionLimits> = {}): Readonly<ConnectionLimits> {
  const limits = { ...DEFAULT_CONNECTION_GATE_OPTIONS, ...DEFAULT_HTTP_TIMEOUTS };
  for (const key of KEYS) {
    const value = input[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 1) throw new PcgError('PCG_ERR_CONFIG_INVALID', `${key}: ${String(value)} is not a positive integer`);
    limits[key] = value;
  }
  if (limits.clientHelloTimeoutMs > limits.tlsHandshakeTimeoutMs) {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', `client-hello-timeout (${limits.clientHelloTimeoutMs} ms) must not exceed tls-handshake-timeout (${limits.tlsHandshakeTimeoutMs} ms)`);
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', `headers-timeout (${limits.headersTimeoutMs} ms) must not exceed request-timeout (${limits.requestTimeoutMs} ms)`);
  }
  if (limits.maxConnectionsPerAddress > limits.maxConnections) limits.maxConnectionsPerAddress = limits.maxConnections;
  return Object.freeze(limits);
}
