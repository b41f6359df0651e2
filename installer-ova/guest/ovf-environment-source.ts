import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rmdir } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The volume label vSphere gives the OVF environment CD (transport "iso"). */
export const OVF_ENV_LABEL = 'OVF ENV';
/** Each probe is one quick look: the wizard must not wait for a CD that is not attached. */
const PROBE_TIMEOUT_MS = 5_000;

export interface OvfEnvironmentFound {
  readonly xml: string;
  /** `cdrom /dev/sr0` or `guestinfo`, for the log. */
  readonly source: string;
}

/**
 * Reads the OVF environment inside the appliance: the CD labelled "OVF ENV" (mounted read-only
 * for the moment of the read), else guestinfo.ovfEnv through VMware Tools (transport
 * com.vmware.guestInfo). Undefined when neither is there: a VM deployed without properties, or
 * booted outside vSphere.
 */
export async function findOvfEnvironment(log: (line: string) => void): Promise<OvfEnvironmentFound | undefined> {
  for (const device of cdromDevices()) {
    const label = await quiet(run('blkid', ['-o', 'value', '-s', 'LABEL', device], { timeout: PROBE_TIMEOUT_MS }));
    if (label?.stdout.trim() !== OVF_ENV_LABEL) continue;
    const xml = await readFromCd(device);
    if (xml !== undefined) return { xml, source: `cdrom ${device}` };
    log(`first-boot: ${device} is labelled "${OVF_ENV_LABEL}" but holds no ovf-env.xml`);
  }
  // Outside VMware vmtoolsd says so and exits at once; the timeout covers a hung backdoor.
  const info = await quiet(run('vmtoolsd', ['--cmd', 'info-get guestinfo.ovfEnv'], { timeout: PROBE_TIMEOUT_MS }));
  const xml = info?.stdout.trim();
  if (xml?.startsWith('<')) return { xml, source: 'guestinfo' };
  return undefined;
}

/** CD drives present now (sr0, sr1, …); the kernel created them before userspace started. */
function cdromDevices(): string[] {
  if (!existsSync('/dev')) return [];
  return readdirSync('/dev').filter((n) => /^sr\d+$/.test(n)).sort().map((n) => `/dev/${n}`);
}

async function readFromCd(device: string): Promise<string | undefined> {
  const mountPoint = `/run/pcg-ovf-env-${process.pid}`;
  await mkdir(mountPoint, { recursive: true, mode: 0o700 });
  try {
    await run('mount', ['-t', 'iso9660', '-o', 'ro,nosuid,nodev,noexec', device, mountPoint], { timeout: PROBE_TIMEOUT_MS });
    try {
      // ISO 9660 level 1 readers may show the name upper-cased with a version suffix.
      const name = readdirSync(mountPoint).find((n) => /^ovf-env\.xml(;1)?$/i.test(n));
      return name ? await readFile(`${mountPoint}/${name}`, 'utf8') : undefined;
    } finally {
      await run('umount', [mountPoint], { timeout: PROBE_TIMEOUT_MS });
    }
  } catch {
    return undefined;
  } finally {
    await rmdir(mountPoint).catch(() => undefined);
  }
}

async function quiet<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch {
    return undefined;
  }
}
