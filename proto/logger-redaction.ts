/**
 * pino `redact` paths covering every field that can hold a secret, for relay and gateway alike:
 * the second line of defence behind the Secret wrapper.
 */
export const REDACT_PATHS: readonly string[] = Object.freeze([
  'pairingCode', 'pairing_code', 'code_secret', 'secret', 'apiKey', 'api_key', 'password', 'privateKey', 'key',
  'token', 'authorization', 'headers.authorization', 'req.headers.authorization', 'req.headers.cookie',
  '*.code_secret', '*.pairingCode', '*.apiKey', '*.password', '*.privateKey', '*.secret', '*.token',
]);
