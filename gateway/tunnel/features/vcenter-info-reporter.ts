import type { Logger } from 'pino';
import { PcgError } from '../../../proto/errors.js';
import type { VcenterPort } from '../../vsphere/vcenter-service.js';
import type { TunnelFeature } from '../tunnel-feature.js';

/** Tells the relay which vCenter this gateway serves after every welcome; never the password. */
export function vcenterInfoReporter(vcenter: VcenterPort, log: Logger): TunnelFeature {
  return {
    opened: (session) => {
      vcenter.info()
        .then((info) => {
          if (session.isOpen) session.send({ type: 'vcenter.info', ...info });
        })
        .catch((err: unknown) => {
          const error = PcgError.wrap(err, 'PCG_ERR_VCENTER_FAULT');
          log.warn({ code: error.code, detail: error.message }, 'cannot report vCenter metadata');
        });
    },
  };
}
