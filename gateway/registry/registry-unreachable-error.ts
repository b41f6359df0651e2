import { PcgError } from '../../proto/errors.js';
import { RegistryError } from '../../proto/registry/registry-error.js';

/**
 * The relay's public registry did not answer a pull-through (refused, timed out, cut mid-stream,
 * or answered with an error of its own). One error for both faces of the registry: `/v1/packs`
 * answers `{code: PCG_ERR_REGISTRY_UNREACHABLE}` with the catalogue's 503, and `/v2/` the spec's
 * body `{errors:[{code: UNKNOWN, detail: {code: PCG_ERR_REGISTRY_UNREACHABLE}}]}` with 503 too.
 */
export class RegistryUnreachableError extends RegistryError {
  constructor(detail: string, cause?: unknown) {
    super('UNKNOWN', `PCG_ERR_REGISTRY_UNREACHABLE: ${detail}`, { status: 503, detail: { code: 'PCG_ERR_REGISTRY_UNREACHABLE' }, ...(cause === undefined ? {} : { cause }) });
    const plain = new PcgError('PCG_ERR_REGISTRY_UNREACHABLE', detail);
    // RegistryError derives its PCG code from the OCI one (UNKNOWN → INTERNAL); this condition has its own.
    Object.defineProperty(this, 'code', { value: plain.code, enumerable: true });
    this.message = plain.message;
    this.name = 'RegistryUnreachableError';
  }
}
