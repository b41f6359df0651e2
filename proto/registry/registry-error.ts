import { PcgError, type ErrorCode } from '../errors.js';

/** The error codes of the OCI distribution spec (v1.1, "Error Codes"), with the HTTP status each is sent with. */
export const OCI_ERROR_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  /** Not in the spec's table: what distribution answers an internal failure with (500). */
  UNKNOWN: 500,
} as const;

export type OciErrorCode = keyof typeof OCI_ERROR_STATUS;

/** One entry of the spec's error body `{errors:[{code,message,detail}]}`. */
export interface OciErrorEntry {
  readonly code: OciErrorCode;
  readonly message: string;
  readonly detail: unknown;
}

/** The PCG code a registry condition maps to, for callers (the pack layer, CLIs) that only know PcgError. */
const PCG_CODE: Record<OciErrorCode, ErrorCode> = {
  BLOB_UNKNOWN: 'PCG_ERR_NOT_FOUND',
  BLOB_UPLOAD_INVALID: 'PCG_ERR_BAD_REQUEST',
  BLOB_UPLOAD_UNKNOWN: 'PCG_ERR_NOT_FOUND',
  DIGEST_INVALID: 'PCG_ERR_BAD_REQUEST',
  MANIFEST_BLOB_UNKNOWN: 'PCG_ERR_BAD_REQUEST',
  MANIFEST_INVALID: 'PCG_ERR_BAD_REQUEST',
  MANIFEST_UNKNOWN: 'PCG_ERR_NOT_FOUND',
  NAME_INVALID: 'PCG_ERR_BAD_REQUEST',
  NAME_UNKNOWN: 'PCG_ERR_NOT_FOUND',
  SIZE_INVALID: 'PCG_ERR_BAD_REQUEST',
  UNAUTHORIZED: 'PCG_ERR_UNAUTHENTICATED',
  DENIED: 'PCG_ERR_FORBIDDEN',
  UNSUPPORTED: 'PCG_ERR_BAD_REQUEST',
  TOOMANYREQUESTS: 'PCG_ERR_RATE_LIMITED',
  UNKNOWN: 'PCG_ERR_INTERNAL',
};

/**
 * A registry condition: a PcgError (so the pack layer and the CLIs see a stable PCG code, e.g.
 * PCG_ERR_BAD_REQUEST for a digest mismatch) that also carries the OCI code(s) and the HTTP status
 * the `/v2/` API answers with (which may differ from the PCG one: an out-of-order chunk is 416).
 */
export class RegistryError extends PcgError {
  readonly entries: readonly OciErrorEntry[];

  constructor(readonly ociCode: OciErrorCode, message: string, options: { detail?: unknown; status?: number; more?: readonly OciErrorEntry[]; cause?: unknown } = {}) {
    super(PCG_CODE[ociCode], message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RegistryError';
    this.status = options.status ?? OCI_ERROR_STATUS[ociCode];
    this.entries = [{ code: ociCode, message, detail: options.detail ?? null }, ...(options.more ?? [])];
  }

  /** The HTTP status of the `/v2/` answer. */
  readonly status: number;

  /** The spec's error body. */
  toBody(): { errors: readonly OciErrorEntry[] } {
    return { errors: this.entries };
  }
}
