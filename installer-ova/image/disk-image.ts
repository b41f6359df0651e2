import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PcgError } from '../../proto/errors.js';
import { runTool } from './run-tool.js';

const MiB = 1024 * 1024;
/** Partition 1 starts at 1 MiB (sector 2048), as every partitioner aligns it. */
const BOOT_OFFSET = 1 * MiB;
/** Kernel (14 MB) and initrd (6 MB) with room for one more of each. */
const BOOT_BYTES = 128 * MiB;
const ROOT_OFFSET = BOOT_OFFSET + BOOT_BYTES;
const SECTOR = 512;
const SYSLINUX_MBR = '/usr/lib/syslinux/mbr/mbr.bin';

export interface DiskImageInput {
  /** The finished root tree (kernel and initrd in its /boot). */
  readonly rootDir: string;
  /** Scratch space for the partition images and the raw disk; emptied afterwards. */
  readonly workDir: string;
  readonly vmdkPath: string;
  /** Disk size the guest sees; the vmdk holds only the used part. */
  readonly capacityBytes: number;
}

/**
 * The appliance disk, built from files only — no loop devices, no mounts (neither is reliable on
 * build machines without udev partitions):
 *
 *   sector 0      syslinux MBR (boot code, first 440 bytes) + msdos partition table (sfdisk)
 *   1 MiB         partition 1, FAT16, bootable: syslinux (installed with mtools), kernel, initrd
 *   129 MiB       partition 2, ext4 made with `mkfs.ext4 -d` from the root tree, to the end
 *                 (written straight at its offset in the disk file: `-E offset=`)
 *
 * then converted to a streamOptimized vmdk, the form an OVA carries.
 */
export async function buildDiskImage(input: DiskImageInput): Promise<{ rootUuid: string }> {
  const { rootDir, workDir, capacityBytes } = input;
  const boot = await bootFiles(rootDir);
  const rootUuid = randomUUID();
  await writeFile(join(rootDir, 'etc', 'fstab'), `UUID=${rootUuid} / ext4 errors=remount-ro 0 1\n`);

  const bootImg = join(workDir, 'boot.img');
  const rawDisk = join(workDir, 'disk.raw');
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });

  // Hidden sectors = the partition's offset, so the FAT boot sector finds ldlinux.sys on the disk.
  await runTool('mkfs.vfat', ['-C', '-F', '16', '-n', 'PCGBOOT', '-h', String(BOOT_OFFSET / SECTOR), bootImg, String(BOOT_BYTES / 1024)]);
  const cfg = join(workDir, 'syslinux.cfg');
  await writeFile(cfg, [
    'SERIAL 0 115200', 'DEFAULT pcg', 'PROMPT 0', 'TIMEOUT 0', '', 'LABEL pcg', '  KERNEL /vmlinuz', '  INITRD /initrd.img',
    // The serial console first and tty0 last: /dev/console (systemd's own output) is the VM
    // console an admin sees; the kernel and journal also go to ttyS0, which the boot test keeps.
    `  APPEND root=UUID=${rootUuid} ro console=ttyS0,115200 console=tty0 panic=10`, '',
  ].join('\n'));
  await runTool('mcopy', ['-i', bootImg, boot.kernel, '::/vmlinuz']);
  await runTool('mcopy', ['-i', bootImg, boot.initrd, '::/initrd.img']);
  await runTool('mcopy', ['-i', bootImg, cfg, '::/syslinux.cfg']);
  await runTool('syslinux', ['--install', bootImg]);

  await writeFile(rawDisk, '');
  await truncate(rawDisk, capacityBytes);
  await runTool('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', rawDisk], {
    input: [
      'label: dos', 'unit: sectors',
      `start=${BOOT_OFFSET / SECTOR}, size=${BOOT_BYTES / SECTOR}, type=6, bootable`,
      `start=${ROOT_OFFSET / SECTOR}, type=83`, '',
    ].join('\n'),
  });
  // 440 bytes: the boot code only, leaving the disk signature and partition table sfdisk wrote.
  await runTool('dd', [`if=${SYSLINUX_MBR}`, `of=${rawDisk}`, 'bs=440', 'count=1', 'conv=notrunc', 'status=none']);
  await runTool('dd', [`if=${bootImg}`, `of=${rawDisk}`, 'bs=1M', `seek=${BOOT_OFFSET}`, 'oflag=seek_bytes', 'conv=notrunc,sparse', 'status=none']);
  // The root file system is made in place at its partition's offset: copying an 8 GiB partition
  // image into the disk with dd reads every hole and took 40 s here; this takes 4.
  await runTool('mkfs.ext4', [
    '-q', '-F', '-L', 'pcg-root', '-U', rootUuid, '-m', '1', '-E', `offset=${ROOT_OFFSET},root_owner=0:0`,
    '-d', rootDir, rawDisk, `${(capacityBytes - ROOT_OFFSET) / 1024}k`,
  ]);
  await rm(input.vmdkPath, { force: true });
  // lsilogic: the adapter type vSphere expects of a SCSI disk (the OVF puts it on pvscsi).
  await runTool('qemu-img', ['convert', '-O', 'vmdk', '-o', 'subformat=streamOptimized,adapter_type=lsilogic', rawDisk, input.vmdkPath]);
  await rm(workDir, { recursive: true, force: true });
  return { rootUuid };
}

/** The kernel and initrd the kernel package installed; exactly one of each. */
async function bootFiles(rootDir: string): Promise<{ kernel: string; initrd: string }> {
  const names = await readdir(join(rootDir, 'boot'));
  const kernels = names.filter((n) => n.startsWith('vmlinuz-'));
  const initrds = names.filter((n) => n.startsWith('initrd.img-'));
  if (kernels.length !== 1 || initrds.length !== 1) {
    throw new PcgError('PCG_ERR_INTERNAL', `expected one kernel and one initrd in ${rootDir}/boot, found ${names.join(', ')}`);
  }
  return { kernel: join(rootDir, 'boot', kernels[0]!), initrd: join(rootDir, 'boot', initrds[0]!) };
}
