/**
 * Handshake messages: JSON text websocket messages exchanged before the session keys exist.
 * After `auth`, only sealed binary frames travel (see frames.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Bytes32, Id, Pem, Signature } from './common.js';

const ProtoOffer = Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { minItems: 1, maxItems: 8 });
const Agent = Type.String({ maxLength: 128, description: 'software name and version of the sender' });

export const HelloMessage = Type.Object({
  type: Type.Literal('hello'),
  proto: ProtoOffer,
  gateway_id: Id,
  eph_pub: Bytes32,
  nonce: Bytes32,
  agent: Agent,
}, { additionalProperties: false });

export const PairMessage = Type.Object({
  type: Type.Literal('pair'),
  proto: ProtoOffer,
  code_id: Type.String({ pattern: '^[0-9A-HJKMNP-TV-Z]{4}$' }),
  code_secret: Type.String({ pattern: '^[0-9A-HJKMNP-TV-Z]{12}$' }),
  sign_pub: Bytes32,
  box_pub: Bytes32,
  csr: Pem,
  eph_pub: Bytes32,
  nonce: Bytes32,
  agent: Agent,
}, { additionalProperties: false });

export const ChallengeMessage = Type.Object({
  type: Type.Literal('challenge'),
  proto: Type.Integer({ minimum: 1 }),
  eph_pub: Bytes32,
  nonce: Bytes32,
  relay_pub: Bytes32,
  binding: Type.Union([Type.Literal('tls-exporter'), Type.Literal('none')]),
  sig: Signature,
}, { additionalProperties: false });

export const AuthMessage = Type.Object({
  type: Type.Literal('auth'),
  sig: Signature,
}, { additionalProperties: false });

/** Sent in clear by the relay just before it closes a connection it refuses. */
export const RejectMessage = Type.Object({
  type: Type.Literal('reject'),
  code: Type.String({ pattern: '^PCG_ERR_[A-Z_]+$' }),
  message: Type.String({ maxLength: 1024 }),
  retry_after_ms: Type.Optional(Type.Integer({ minimum: 0 })),
}, { additionalProperties: false });

export type HelloMessage = Static<typeof HelloMessage>;
export type PairMessage = Static<typeof PairMessage>;
export type ChallengeMessage = Static<typeof ChallengeMessage>;
export type AuthMessage = Static<typeof AuthMessage>;
export type RejectMessage = Static<typeof RejectMessage>;

export const GatewayOpening = Type.Union([HelloMessage, PairMessage]);
export type GatewayOpening = Static<typeof GatewayOpening>;

export const RelayHandshakeReply = Type.Union([ChallengeMessage, RejectMessage]);
export type RelayHandshakeReply = Static<typeof RelayHandshakeReply>;

