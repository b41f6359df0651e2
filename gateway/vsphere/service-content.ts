import { moRef, text, type MoRef } from './soap-xml.js';

/** vCenter's ServiceContent: the entry points every session starts from. */
export interface ServiceContent {
  readonly rootFolder: MoRef;
  readonly propertyCollector: MoRef;
  readonly viewManager: MoRef;
  readonly sessionManager: MoRef;
  readonly searchIndex: MoRef;
  readonly eventManager: MoRef;
  readonly about: { readonly fullName: string; readonly version: string; readonly apiVersion: string; readonly instanceUuid: string };
}

/** Reads RetrieveServiceContent's answer. */
export function parseServiceContent(response: Record<string, unknown>): ServiceContent {
  const r = response.returnval as Record<string, unknown>;
  const about = r.about as Record<string, unknown>;
  return {
    rootFolder: moRef(r.rootFolder), propertyCollector: moRef(r.propertyCollector), viewManager: moRef(r.viewManager),
    sessionManager: moRef(r.sessionManager), searchIndex: moRef(r.searchIndex), eventManager: moRef(r.eventManager),
    about: { fullName: text(about.fullName), version: text(about.version), apiVersion: text(about.apiVersion), instanceUuid: text(about.instanceUuid) },
  };
}
