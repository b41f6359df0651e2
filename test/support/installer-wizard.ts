import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { WizardState } from '../../installer-ova/wizard/wizard-api.js';
import { Child, INSTALLER_CLI } from './child.js';
import { waitFor } from './wait-for.js';

export interface WizardResponse<T = any> { status: number; headers: IncomingHttpHeaders; body: T; text: string; fingerprint: string } // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * A `pcg-installer serve --host 127.0.0.1 --port 0` process: its URL and certificate fingerprint
 * from the first two stdout lines. Requests trust exactly that fingerprint (the way an admin
 * compares it with the console), not a CA.
 */
export class WizardProcess {
  private constructor(readonly child: Child, readonly url: string, readonly fingerprint: string) {}

  static async start(pathArgs: readonly string[], extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<WizardProcess> {
    const child = Child.node(INSTALLER_CLI, ['serve', '--host', '127.0.0.1', '--port', '0', ...pathArgs, ...extra], { PCG_HTTPS_PORT: '0', ...env });
    try {
      const [url, fingerprint] = await waitFor('wizard listening', () => {
        if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${child.stderr}`);
        const m = /^listening on (https:\/\/\S+)\nfingerprint (\S+)\n/.exec(child.stdout);
        return m ? [m[1]!, m[2]!] as const : undefined;
      }, 20_000);
      return new WizardProcess(child, url, fingerprint);
    } catch (err) {
      await child.stop();
      throw err;
    }
  }

  send<T>(method: string, path: string, options: { token?: string; body?: unknown; rawBody?: string } = {}): Promise<WizardResponse<T>> {
    const payload = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, this.url), {
        method, rejectUnauthorized: false, agent: false,
        headers: {
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {}),
        },
      }, (res) => {
        const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        if (fingerprint !== this.fingerprint) {
          res.destroy();
          reject(new Error(`wizard certificate ${fingerprint} is not the printed ${this.fingerprint}`));
          return;
        }
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          const json = (res.headers['content-type'] ?? '').startsWith('application/json');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: (json && text ? JSON.parse(text) : text) as T, text, fingerprint });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** GET /api/state/events: every `state` event, until close(). */
  events(): { states: WizardState[]; headers: Promise<IncomingHttpHeaders>; close: () => void } {
    const states: WizardState[] = [];
    let buffer = '';
    let onHeaders: (h: IncomingHttpHeaders) => void = () => undefined;
    const headers = new Promise<IncomingHttpHeaders>((resolve) => (onHeaders = resolve));
    const req = request(new URL('/api/state/events', this.url), { rejectUnauthorized: false, agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
      onHeaders(res.headers);
      res.on('data', (d: Buffer) => {
        buffer += d.toString();
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^event: state\ndata: (.*)$/m.exec(event)?.[1];
          if (data) states.push(JSON.parse(data) as WizardState);
        }
      });
    });
    req.on('error', () => undefined);
    req.end();
    return { states, headers, close: () => req.destroy() };
  }

  stop(): Promise<void> {
    return this.child.stop();
  }
}
