import pino, { type Logger } from 'pino';
import { REDACT_PATHS } from '../proto/logger-redaction.js';

/**
 * JSON lines, every secret-bearing path redacted. The daemon logs to stdout; one-shot commands
 * log to stderr so their stdout carries only their result.
 */
export function createGatewayLogger(level: string, destination: 'stdout' | 'stderr' = 'stdout'): Logger {
  return pino({ level, base: { svc: 'pcg-gateway' }, redact: { paths: [...REDACT_PATHS], censor: '[redacted]' } }, pino.destination(destination === 'stdout' ? 1 : 2));
}
