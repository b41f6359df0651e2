import { parsePairingCode } from '../../proto/pairing-code.js';
import type { CheckReport } from './check-report-schema.js';
import { CheckRecorder } from './check-report.js';

/**
 * The pairing code's format only, at once. The code is never sent anywhere by a check, nor echoed
 * back: its validity is proved by pairing itself, which the relay counts like any attempt.
 */
export function checkPairingCode(input: { readonly pairingCode: string }): Promise<CheckReport> {
  return new CheckRecorder().run(async (r) => {
    await r.step('format', 'pairingCode', () => parsePairingCode(input.pairingCode), () => '16 characters of Crockford base32');
  });
}
