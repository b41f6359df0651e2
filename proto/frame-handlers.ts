import { PcgError } from './errors.js';
import type { RequestTracker } from './request-tracker.js';
import type { Frame, FrameOf, FrameType } from './schemas/frames.js';

/** Handles one frame type for one session; `session` is the side's session object (its narrow port). */
export type FrameHandler<S, K extends FrameType> = (frame: FrameOf<K>, session: S) => void | Promise<void>;

/** What a feature module contributes: handlers for the frame types it owns. */
export type FrameHandlers<S> = { readonly [K in FrameType]?: FrameHandler<S, K> };

/**
 * The frame types one end handles and how: built once at start from every feature's handlers,
 * then shared by all sessions. A session hands each frame here and knows nothing of features.
 */
export class HandlerTable<S> {
  private constructor(private readonly handlers: FrameHandlers<S>, readonly accepts: readonly FrameType[]) {}

  /**
   * `direction` lists the frame types the peer may send (proto/schemas/frames.ts). A type handled
   * twice, or one the peer may not send, is a wiring mistake and fails at start.
   */
  static register<S>(direction: readonly FrameType[], features: ReadonlyArray<FrameHandlers<S>>): HandlerTable<S> {
    const merged: Record<string, unknown> = {};
    for (const feature of features) {
      for (const [type, handler] of Object.entries(feature)) {
        if (!direction.includes(type as FrameType)) throw new Error(`a handler for ${type}, which the peer never sends`);
        if (type in merged) throw new Error(`two handlers for ${type}`);
        merged[type] = handler;
      }
    }
    return new HandlerTable(merged, Object.freeze(Object.keys(merged) as FrameType[]));
  }

  dispatch(frame: Frame, session: S): void | Promise<void> {
    const handler = this.handlers[frame.type] as FrameHandler<S, FrameType> | undefined;
    if (!handler) throw new PcgError('PCG_ERR_FRAME_INVALID', `frame type ${frame.type} is not handled here`);
    return handler(frame, session);
  }
}

/** A session that tracks requests: what reply handlers need. */
export interface TracksRequests {
  readonly requests: RequestTracker;
}

/** Frame types that carry a request id (always or optionally). */
type ReplyType = { [K in FrameType]: 'id' extends keyof FrameOf<K> ? K : never }[FrameType];

/** The handler of a final reply: settles the request its id names (late or id-less replies are dropped). */
export function finalReply<S extends TracksRequests, K extends ReplyType>(): FrameHandler<S, K> {
  return (frame, session) => {
    const { id } = frame as { id?: number };
    if (id !== undefined) session.requests.resolve(id, frame);
  };
}
