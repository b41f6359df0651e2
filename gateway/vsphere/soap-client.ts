import { request, type Agent } from 'undici';
import { PcgError } from '../../proto/errors.js';
import { child, envelope, parseXml, text } from './soap-xml.js';
import { VimFault } from './vim-fault.js';

export interface SoapClientOptions {
  /** `https://host[:port]/sdk`, from vcenterSdkUrl(). */
  readonly sdkUrl: URL;
  readonly agent: Agent;
  /** Per request. @default 60_000 */
  readonly timeoutMs: number;
  /**
   * Told every SOAP request before it is sent: its method (metrics, tests counting round trips)
   * and its envelope as written (tests checking element order), secrets replaced (see invoke).
   */
  readonly onRequest?: ((method: string, body: string) => void) | undefined;
}

const COOKIE = /vmware_soap_session="?([^";]+)"?/;

/**
 * vim25 over HTTP: one POST per method, the session cookie kept between calls, faults decoded
 * into VimFault. Bodies are never logged: Login carries the password.
 */
export class SoapClient {
  /** SOAP requests sent, for tests that count round trips. */
  requests = 0;
  #cookie: string | undefined;
  #version = '6.5';

  constructor(private readonly options: SoapClientOptions) {}

  get version(): string {
    return this.#version;
  }

  get hasSession(): boolean {
    return this.#cookie !== undefined;
  }

  clearSession(): void {
    this.#cookie = undefined;
  }

  /** Reads the newest vim25 version from /sdk/vimServiceVersions.xml when the server has it. */
  async negotiateVersion(): Promise<string> {
    const res = await this.#send('GET', new URL('/sdk/vimServiceVersions.xml', this.options.sdkUrl), undefined, {});
    if (res.status === 200) {
      const doc = parseXml(res.body) as { namespaces?: { namespace?: unknown } };
      const namespaces = Array.isArray(doc.namespaces?.namespace) ? doc.namespaces.namespace : [doc.namespaces?.namespace];
      const vim = namespaces.find((n) => text((n as { name?: unknown })?.name) === 'urn:vim25') as { version?: unknown } | undefined;
      if (vim?.version) this.#version = text(vim.version);
    }
    return this.#version;
  }

  /**
   * Invokes `method` with its arguments as XML (in WSDL order); returns the parsed response element.
   * `shownArgsXml` is what onRequest sees instead of the arguments: Login's, password redacted.
   */
  async invoke(method: string, argsXml: string, shownArgsXml?: string): Promise<Record<string, unknown>> {
    this.requests++;
    const request = envelope(method, argsXml);
    this.options.onRequest?.(method, shownArgsXml === undefined ? request : envelope(method, shownArgsXml));
    const res = await this.#send('POST', this.options.sdkUrl, request, {
      'content-type': 'text/xml; charset=utf-8',
      soapaction: `urn:vim25/${this.#version}`,
      ...(this.#cookie ? { cookie: `vmware_soap_session="${this.#cookie}"` } : {}),
    });
    const cookie = COOKIE.exec(res.setCookie ?? '');
    if (cookie) this.#cookie = cookie[1];
    let doc: Record<string, unknown>;
    try {
      doc = parseXml(res.body);
    } catch (err) {
      throw new PcgError('PCG_ERR_VCENTER_FAULT', `${method}: unreadable response (HTTP ${res.status})`, { cause: err });
    }
    const body = child(child(doc, 'Envelope'), 'Body') as Record<string, unknown> | undefined;
    if (!body) throw new PcgError('PCG_ERR_VCENTER_FAULT', `${method}: HTTP ${res.status} without a SOAP body`);
    const fault = child(body, 'Fault');
    if (fault) throw VimFault.fromSoapFault(method, fault as Record<string, unknown>);
    const response = child(body, `${method}Response`);
    if (response === undefined) throw new PcgError('PCG_ERR_VCENTER_FAULT', `${method}: no ${method}Response in the reply`);
    return (typeof response === 'object' && response !== null ? response : {}) as Record<string, unknown>;
  }

  async #send(method: 'GET' | 'POST', url: URL, body: string | undefined, headers: Record<string, string>): Promise<{ status: number; body: string; setCookie: string | undefined }> {
    try {
      const res = await request(url, {
        method, body, headers, dispatcher: this.options.agent, headersTimeout: this.options.timeoutMs, bodyTimeout: this.options.timeoutMs,
      });
      const setCookie = res.headers['set-cookie'];
      return { status: res.statusCode, body: await res.body.text(), setCookie: Array.isArray(setCookie) ? setCookie.join('; ') : setCookie };
    } catch (err) {
      if (err instanceof PcgError) throw err;
      const cause = (err as { cause?: unknown }).cause;
      if (cause instanceof PcgError) throw cause;
      const code = (err as NodeJS.ErrnoException).code ?? (cause as NodeJS.ErrnoException | undefined)?.code ?? (err as Error).message;
      const what = code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? `DNS lookup of ${url.hostname} failed` : `cannot reach ${url.host}`;
      throw new PcgError(/CERT|SELF_SIGNED|UNABLE_TO/.test(String(code)) ? 'PCG_ERR_VCENTER_TLS' : 'PCG_ERR_VCENTER_UNREACHABLE', `${what} (${code})`, { cause: err });
    }
  }
}
