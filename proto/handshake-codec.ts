import { TypeCompiler } from '@sinclair/typebox/compiler';
import { PcgError } from './errors.js';
import {
  AuthMessage, GatewayOpening, RelayHandshakeReply,
} from './schemas/handshake-messages.js';
import type { Static, TSchema } from '@sinclair/typebox';

const checkers = {
  opening: TypeCompiler.Compile(GatewayOpening),
  reply: TypeCompiler.Compile(RelayHandshakeReply),
  auth: TypeCompiler.Compile(AuthMessage),
} as const;

function parse<T extends TSchema>(name: keyof typeof checkers, raw: string): Static<T> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new PcgError('PCG_ERR_FRAME_INVALID', `${name} message is not JSON`);
  }
  const check = checkers[name];
  if (!check.Check(value)) {
    const first = check.Errors(value).First();
    throw new PcgError('PCG_ERR_FRAME_INVALID', `${name} message: ${first ? `${first.path || '/'} ${first.message}` : 'invalid'}`);
  }
  return value;
}

/** The gateway's first message: `hello` (session) or `pair`. */
export const parseGatewayOpening = (raw: string): GatewayOpening => parse<typeof GatewayOpening>('opening', raw);
/** The relay's answer to it: `challenge` or `reject`. */
export const parseRelayReply = (raw: string): RelayHandshakeReply => parse<typeof RelayHandshakeReply>('reply', raw);
export const parseAuth = (raw: string): AuthMessage => parse<typeof AuthMessage>('auth', raw);
