import { request } from 'node:https';

export interface StreamedEvent { id: number; at: string; step: string; node: string | null; level: string; message: string }

/**
 * Follows GET /v1/clusters/:id/events/stream (server-sent events) as a portal would, handing each
 * event to `onEvent`; `done` settles when the relay ends the stream (the cluster is deleted).
 */
export function streamEvents(baseUrl: string, ca: string, apiKey: string, clusterId: string, onEvent: (event: StreamedEvent) => void, lastEventId?: number): { done: Promise<void>; close: () => void } {
  let close = (): void => undefined;
  const done = new Promise<void>((resolve, reject) => {
    const req = request(new URL(`/v1/clusters/${clusterId}/events/stream`, baseUrl), {
      ca, headers: { authorization: `Bearer ${apiKey}`, accept: 'text/event-stream', ...(lastEventId !== undefined ? { 'last-event-id': String(lastEventId) } : {}) },
    }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`event stream: HTTP ${res.statusCode}`));
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        // One event per blank-line-terminated block; comment lines (heartbeats) start with ':'.
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
          if (data) onEvent(JSON.parse(data) as StreamedEvent);
        }
      });
      res.on('end', () => resolve());
      res.on('error', reject);
    });
    req.on('error', (err) => (req.destroyed ? resolve() : reject(err)));
    req.end();
    close = () => req.destroy();
  });
  return { done, close };
}
