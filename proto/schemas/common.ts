import { Type } from '@sinclair/typebox';

/** Base64 of exactly 32 bytes (keys, nonces). */
export const Bytes32 = Type.String({ pattern: '^[A-Za-z0-9+/]{43}=$', description: 'base64 of 32 bytes' });
/** Base64 of an Ed25519 signature (64 bytes). */
export const Signature = Type.String({ pattern: '^[A-Za-z0-9+/]{86}==$', description: 'base64 of a 64-byte Ed25519 signature' });
export const Id = Type.String({ pattern: '^[a-z]{2,4}_[0-9A-Za-z]{10,40}$', description: 'prefixed object id' });
export const Pem = Type.String({ pattern: '^-----BEGIN [A-Z ]+-----', maxLength: 16384 });
export const Millis = Type.Integer({ minimum: 0, description: 'milliseconds since the Unix epoch' });

/**
 * Request frames carry an `id` chosen by the sender; every reply (and an `error` answering the
 * request) carries the same id back. Ids are per session and per direction.
 */
export const RequestId = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
