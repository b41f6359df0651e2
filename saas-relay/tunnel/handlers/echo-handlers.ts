import { PcgError } from '../../../proto/errors.js';
import type { FrameHandlers } from '../../../proto/frame-handlers.js';
import type { EchoReplyFrame } from '../../../proto/schemas/frames.js';
import type { TunnelSession } from '../tunnel-session.js';

/** Round-trip probe: measures the tunnel itself (benchmarks, diagnostics). */
export function echoHandlers(): FrameHandlers<TunnelSession> {
  return {
    'echo.reply': (frame, session) => {
      session.requests.resolve(frame.id, frame);
    },
  };
}

/** Relay→gateway→relay round trip of `data`; resolves with the echoed data. */
export async function echo(session: TunnelSession, data: string, timeoutMs = 30_000): Promise<string> {
  const reply = await session.requests.call<EchoReplyFrame>((id) => session.send({ type: 'echo', id, data }), {
    timeoutMs,
    onTimeout: () => new PcgError('PCG_ERR_GATEWAY_TIMEOUT', `gateway ${session.gatewayId} did not echo within ${timeoutMs} ms`),
  });
  return reply.data;
}
