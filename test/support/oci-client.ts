import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:https';

export interface OciReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The body as JSON (undefined when empty). */
  json<T = Record<string, unknown>>(): T;
}

/**
 * A bare HTTPS client for the registry tests: exact statuses and headers, the body as bytes,
 * the gateway's CA trusted. One keep-alive agent per registry, destroyed by `close()`.
 */
export class OciClient {
  private constructor(readonly baseUrl: string, private readonly agent: Agent, private readonly authorization: string | undefined) {}

  static create(baseUrl: string, ca: string, authorization?: string): OciClient {
    return new OciClient(baseUrl, new Agent({ ca, keepAlive: true }), authorization);
  }

  static basic(user: string, password: string): string {
    return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }

  /** The same registry and connection pool with other credentials (undefined: none). */
  as(authorization: string | undefined): OciClient {
    return new OciClient(this.baseUrl, this.agent, authorization);
  }

  send(method: string, path: string, options: { headers?: Record<string, string | number>; body?: Buffer | string } = {}): Promise<OciReply> {
    const headers: Record<string, string | number> = { ...(this.authorization ? { authorization: this.authorization } : {}), ...options.headers };
    if (options.body !== undefined && headers['content-length'] === undefined) headers['content-length'] = Buffer.byteLength(options.body);
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, this.baseUrl), { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => (body.length === 0 ? undefined : JSON.parse(body.toString('utf8'))) as T });
        });
      });
      req.on('error', reject);
      req.end(options.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
