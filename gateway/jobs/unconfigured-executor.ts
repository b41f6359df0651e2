import { PcgError } from '../../proto/errors.js';
import type { JobExecutor } from './job-executor.js';

/** The executor of a gateway without a vCenter: every job fails with PCG_ERR_VCENTER_NOT_CONFIGURED, which says what to set. */
export const unconfiguredExecutor: JobExecutor = Object.freeze({
  execute: () => Promise.reject(new PcgError('PCG_ERR_VCENTER_NOT_CONFIGURED', 'this gateway has no vCenter to run cluster jobs on')),
});
