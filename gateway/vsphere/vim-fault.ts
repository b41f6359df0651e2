import { PcgError, type ErrorCode } from '../../proto/errors.js';
import { text, xsiType } from './soap-xml.js';

/** Faults a caller acts on by type; anything else still carries its type name. */
export type VimFaultType =
  | 'NotAuthenticated' | 'InvalidLogin' | 'NoPermission' | 'InvalidPowerState' | 'DuplicateName'
  | 'ManagedObjectNotFound' | 'TaskInProgress' | 'InvalidArgument' | 'InvalidRequest' | 'InvalidState' | (string & {});

function codeFor(type: string): ErrorCode {
  if (type === 'InvalidLogin') return 'PCG_ERR_VCENTER_LOGIN';
  if (type === 'NoPermission') return 'PCG_ERR_VCENTER_PERMISSION';
  return 'PCG_ERR_VCENTER_FAULT';
}

/** A vim fault from a SOAP response or a failed task: its type, vCenter's own message, its detail. */
export class VimFault extends PcgError {
  constructor(
    readonly faultType: VimFaultType,
    readonly faultMessage: string,
    readonly faultDetail: Record<string, unknown>,
    readonly method: string,
  ) {
    const privilege = faultType === 'NoPermission' && typeof faultDetail.privilegeId === 'string' ? ` (missing privilege ${faultDetail.privilegeId})` : '';
    super(codeFor(faultType), `${method}: ${faultType}: ${faultMessage}${privilege}`);
    this.name = 'VimFault';
  }

  /** From a SOAP `<Fault>`: faultstring, and detail's one child whose xsi:type names the fault. */
  static fromSoapFault(method: string, fault: Record<string, unknown>): VimFault {
    const detail = (fault.detail ?? {}) as Record<string, unknown>;
    const [element, content] = Object.entries(detail)[0] ?? ['', {}];
    const node = (typeof content === 'object' && content !== null ? content : {}) as Record<string, unknown>;
    const type = xsiType(node) ?? (element.replace(/^.*:/, '').replace(/Fault$/, '') || 'SystemError');
    const fields = Object.fromEntries(Object.entries(node).filter(([k]) => !k.startsWith('@_')).map(([k, v]) => [k, typeof v === 'object' ? v : text(v)]));
    return new VimFault(type, text(fault.faultstring), fields, method);
  }

  is(type: VimFaultType): boolean {
    return this.faultType === type;
  }
}
