import pino, { type Logger } from 'pino';
import { REDACT_PATHS } from '../proto/logger-redaction.js';

/** JSON lines on stdout; every secret-bearing path is redacted. */
export function createGatewayLogger(level: string): Logger {
  return pino({ level, base: { svc: 'pcg-gateway' }, redact: { paths: [...REDACT_PATHS], censor: '[redacted]' } });
}
