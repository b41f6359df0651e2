/**
 * Recorded-response helpers for unit tests of the vSphere client: responses shaped as vCenter
 * sends them, and a fake session (a real SessionScope over a tiny port) that answers from them.
 */
import { SessionScope, type RenewableSession } from '../../gateway/vsphere/session-scope.js';
import { child, parseXml } from '../../gateway/vsphere/soap-xml.js';
import type { ServiceContent } from '../../gateway/vsphere/service-content.js';

const ENVELOPE = '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>';

/** A `<method>Response` element as the client reads it; `returnval` is inner XML, omitted when undefined. */
export function recorded(method: string, returnval?: string): Record<string, unknown> {
  const inner = returnval === undefined ? '' : `<returnval>${returnval}</returnval>`;
  const xml = `${ENVELOPE}<${method}Response xmlns="urn:vim25">${inner}</${method}Response></soapenv:Body></soapenv:Envelope>`;
  return child(child(child(parseXml(xml), 'Envelope'), 'Body'), `${method}Response`) as Record<string, unknown>;
}

/** A response whose returnval is a managed object reference (CreateContainerView, CloneVM_Task…). */
export function recordedMoRef(method: string, type: string, value: string): Record<string, unknown> {
  const response = recorded(method, value);
  return { ...response, returnval: { '#text': value, '@_type': type } };
}

export const CONTENT: ServiceContent = {
  rootFolder: { type: 'Folder', value: 'group-d1' },
  propertyCollector: { type: 'PropertyCollector', value: 'propertyCollector' },
  viewManager: { type: 'ViewManager', value: 'ViewManager' },
  sessionManager: { type: 'SessionManager', value: 'SessionManager' },
  searchIndex: { type: 'SearchIndex', value: 'SearchIndex' },
  eventManager: { type: 'EventManager', value: 'EventManager' },
  about: { fullName: 'VMware vCenter Server 8.0.2', version: '8.0.2', apiVersion: '8.0.2.0', instanceUuid: 'test' },
};

export type Answer = (method: string, argsXml: string) => Promise<Record<string, unknown>>;

/**
 * A session that answers every request with `answer` and records it in `calls`; renewable() is
 * VimSession's (SessionScope.run), `epoch` is what its scopes see and renew() advances it.
 */
export class FakeSession {
  readonly calls: Array<[method: string, argsXml: string]> = [];
  readonly content = CONTENT;
  epoch = 1;
  renewals = 0;

  constructor(private readonly answer: Answer) {}

  readonly port: RenewableSession = {
    content: CONTENT,
    currentEpoch: () => this.epoch,
    send: (method, argsXml) => {
      this.calls.push([method, argsXml]);
      return this.answer(method, argsXml);
    },
    renew: (seen) => {
      if (seen === this.epoch) {
        this.renewals++;
        this.epoch++;
      }
      return Promise.resolve();
    },
  };

  renewable<T>(work: (scope: SessionScope) => Promise<T>): Promise<T> {
    return SessionScope.run(this.port, work);
  }

  get methods(): string[] {
    return this.calls.map(([m]) => m);
  }
}
