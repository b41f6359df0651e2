import { existsSync } from 'node:fs';
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PcgError } from '../../proto/errors.js';
import { InputDigest } from './build-inputs.js';
import { runTool } from './run-tool.js';

/** Debian packages of the appliance, on top of mmdebstrap's `apt` variant. */
export const APPLIANCE_PACKAGES: readonly string[] = [
  'systemd-sysv', 'systemd-resolved', 'systemd-timesyncd', 'udev', 'kmod', 'iproute2',
  'linux-image-cloud-amd64', 'open-vm-tools', 'openssh-server', 'ca-certificates',
];

/** No documentation in the image: it is never read there and is a tenth of the size. */
const DPKG_OPTIONS: readonly string[] = [
  'path-exclude=/usr/share/man/*', 'path-exclude=/usr/share/doc/*', 'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/info/*', 'path-exclude=/usr/share/locale/*', 'path-include=/usr/share/locale/locale.alias',
  'path-exclude=/usr/share/lintian/*',
];

const SUITE = 'bookworm';

export interface BaseRootfsInput {
  /** installer-ova/image/rootfs/ in the source tree. */
  readonly overlayDir: string;
  /** installer-ova/image/customize-rootfs.sh in the source tree. */
  readonly customizeScript: string;
  /** Where base trees are kept between builds. */
  readonly cacheDir: string;
}

/**
 * The appliance's Debian root without the product: mmdebstrap from the mirror this machine's
 * apt uses (never a mirror written into the project), the initramfs told which drivers to carry
 * before the kernel is installed, then the overlay and users (customize-rootfs.sh). Kept per
 * digest of its inputs, since it is half of the build time and changes rarely.
 *
 * @returns the root directory; the caller owns /opt/pcg and /etc/fstab in it.
 */
export async function baseRootfs(input: BaseRootfsInput): Promise<{ dir: string; cached: boolean }> {
  const sources = await debianSources();
  const dir = await baseRootfsDir(input, sources);
  if (existsSync(join(dir, 'etc', 'pcg'))) return { dir, cached: true };

  // Older bases would only fill the disk.
  for (const name of existsSync(input.cacheDir) ? await readdir(input.cacheDir) : []) {
    if (name.startsWith('rootfs-')) await rm(join(input.cacheDir, name), { recursive: true, force: true });
  }
  const partial = `${dir}.partial`;
  const initramfsDir = join(input.overlayDir, 'etc', 'initramfs-tools');
  await runTool('mmdebstrap', [
    '--mode=root', '--variant=apt', `--include=${APPLIANCE_PACKAGES.join(',')}`,
    ...DPKG_OPTIONS.map((o) => `--dpkgopt=${o}`),
    // Before the kernel package: its postinst builds the initrd with this configuration.
    `--setup-hook=mkdir -p "$1/etc/initramfs-tools" && cp -R --preserve=mode ${shellQuote(initramfsDir)}/. "$1/etc/initramfs-tools/"`,
    `--customize-hook=sh ${shellQuote(input.customizeScript)} "$1" ${shellQuote(input.overlayDir)}`,
    SUITE, partial, ...sources,
  ]);
  await rename(partial, dir);
  return { dir, cached: false };
}

/** The cache directory of the base for these inputs (named by their digest). */
export async function baseRootfsDir(input: BaseRootfsInput, sources?: readonly string[]): Promise<string> {
  const digest = new InputDigest().text('suite', SUITE).text('packages', APPLIANCE_PACKAGES.join(',')).text('dpkg', DPKG_OPTIONS.join(','));
  for (const file of sources ?? await debianSources()) await digest.file(file);
  await digest.tree(input.overlayDir);
  await digest.file(input.customizeScript);
  return join(input.cacheDir, `rootfs-${digest.short()}`);
}

/**
 * The host's Debian apt sources (deb822 or one-line), others left out: the appliance must not
 * inherit a third-party repository, and a disabled file is not a source.
 */
async function debianSources(): Promise<string[]> {
  const candidates = ['/etc/apt/sources.list'];
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) candidates.push(...(await readdir(dir)).filter((n) => /\.(list|sources)$/.test(n)).sort().map((n) => join(dir, n)));
  const debian: string[] = [];
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    const uris = urisOf(await readFile(file, 'utf8'));
    if (uris.length > 0 && uris.every((u) => /\/debian(-security|-ports)?\/?$/.test(u))) debian.push(file);
  }
  if (debian.length === 0) throw new PcgError('PCG_ERR_CONFIG_INVALID', 'no Debian apt source on this machine (/etc/apt/sources.list or sources.list.d/*.sources): the image is built from the mirror apt uses here');
  return debian;
}

function urisOf(text: string): string[] {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const deb822 = lines.filter((l) => /^URIs:/i.test(l)).flatMap((l) => l.replace(/^URIs:/i, '').trim().split(/\s+/));
  const oneLine = lines.filter((l) => /^deb(-src)?\s/.test(l)).map((l) => l.replace(/\[[^\]]*\]/, '').split(/\s+/)[1] ?? '');
  return [...deb822, ...oneLine];
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
