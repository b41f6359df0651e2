import { request } from 'node:https';

export interface ApiResponse<T = any> { status: number; body: T } // eslint-disable-line @typescript-eslint/no-explicit-any

/** Minimal HTTPS JSON client that trusts the relay's CA only. */
export class ApiClient {
  constructor(private readonly baseUrl: string, private readonly ca: string, private readonly apiKey?: string) {}

  withKey(apiKey: string | undefined): ApiClient {
    return new ApiClient(this.baseUrl, this.ca, apiKey);
  }

  get<T>(path: string): Promise<ApiResponse<T>> {
    return this.send('GET', path);
  }
  post<T>(path: string, body?: unknown): Promise<ApiResponse<T>> {
    return this.send('POST', path, body);
  }
  delete<T>(path: string): Promise<ApiResponse<T>> {
    return this.send('DELETE', path);
  }

  send<T>(method: string, path: string, body?: unknown, rawBody?: string): Promise<ApiResponse<T>> {
    const payload = rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, this.baseUrl), {
        method, ca: this.ca,
        headers: {
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
        },
      }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : null) as T }));
      });
      req.on('error', reject);
      req.end(payload);
    });
  }
}
