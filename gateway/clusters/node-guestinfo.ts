import { nodeMetadata } from './node-metadata.js';
import { nodeUserdata, type UserdataInput } from './node-userdata.js';

/** What vSphere allows per extraConfig value is far more, but a VMX file holds every key: stay small. */
export const MAX_GUESTINFO_BYTES = 64 * 1024;

/**
 * extraConfig keys cloud-init's VMware datasource reads: each value base64 with its
 * `.encoding` key (plain text would have to survive XML, VMX quoting and rpctool untouched).
 */
export function nodeGuestinfo(input: UserdataInput): Record<string, string> {
  const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
  const extra = {
    'guestinfo.metadata': b64(JSON.stringify(nodeMetadata(input.identity))),
    'guestinfo.metadata.encoding': 'base64',
    'guestinfo.userdata': b64(nodeUserdata(input)),
    'guestinfo.userdata.encoding': 'base64',
  };
  const size = Object.values(extra).reduce((n, v) => n + v.length, 0);
  if (size > MAX_GUESTINFO_BYTES) throw new RangeError(`guestinfo of ${input.identity.vmName} is ${size} bytes, over ${MAX_GUESTINFO_BYTES}`);
  return extra;
}
