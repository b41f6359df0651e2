/**
 * Wake-ups between relay processes sharing one store: "a request for you" and "a reply for a
 * request you asked". A signal carries an id only; the store holds the facts, so a lost signal
 * costs latency (the poll finds the work), never correctness.
 */
/**
 * `tunnel_request` (payload: relay id), `tunnel_reply` (request id), `job_queued` (gateway id: the
 * relay holding its tunnel offers the job), `cluster_event` (cluster id: live event streams read on).
 */
export type SignalChannel = 'tunnel_request' | 'tunnel_reply' | 'job_queued' | 'cluster_event';

export interface RelaySignals {
  /** Wakes whoever listens on `channel` (in this process or, on PostgreSQL, any relay). */
  notify(channel: SignalChannel, payload: string): Promise<void>;
  /** Registers a listener; call at start. */
  listen(channel: SignalChannel, listener: (payload: string) => void): void;
  close(): Promise<void>;
}
