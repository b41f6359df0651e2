import pino, { type Logger } from 'pino';
import { REDACT_PATHS } from '../proto/logger-redaction.js';

/** JSON lines on stdout; every secret-bearing path is redacted. */
export function createRelayLogger(level = process.env.PCG_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { svc: 'pcg-relay' }, redact: { paths: [...REDACT_PATHS], censor: '[redacted]' } });
}
