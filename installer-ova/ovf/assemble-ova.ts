import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack, type Header } from 'tar-stream';
import { PcgError } from '../../proto/errors.js';
import { buildOvfDescriptor } from './ovf-descriptor.js';
import { formatManifest, sha256, sha256File } from './ova-manifest.js';

export interface AssembleOvaInput {
  /** The streamOptimized vmdk (qemu-img convert -O vmdk -o subformat=streamOptimized). */
  readonly vmdkPath: string;
  /** Virtual disk size the guest sees, in bytes. */
  readonly capacityBytes: number;
  readonly outDir: string;
  /** File names and the VM name: name.ovf, name.mf, name.ova, name-disk1.vmdk inside. */
  readonly name: string;
  readonly version: string;
}

export interface AssembledOva {
  readonly ovaPath: string;
  readonly ovfPath: string;
  readonly manifestPath: string;
}

/** ustar stores sizes in 11 octal digits: one entry stays under 8 GiB. */
const USTAR_MAX_SIZE = 8 ** 11 - 1;

/**
 * Fixed so the same inputs give the same bytes: no clock, owner or user name in the headers.
 * mtime 0 is the epoch; tar readers only show it.
 */
const FIXED: Omit<Header, 'name' | 'size' | 'linkname' | 'devmajor' | 'devminor'> = { mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), type: 'file', uname: '', gname: '' };

/**
 * Writes name.ovf, name.mf and name.ova (a POSIX ustar tar of ovf, mf, vmdk in that order, as
 * OVF 1.x requires: a reader deploys while it streams, so the descriptor and manifest come first).
 * The vmdk is streamed twice (digest, then tar), never held in memory. The .ova appears under
 * its name only when complete.
 */
export async function assembleOva(input: AssembleOvaInput): Promise<AssembledOva> {
  const { vmdkPath, capacityBytes, outDir, name, version } = input;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$/.test(name)) throw new PcgError('PCG_ERR_CONFIG_INVALID', `OVA name ${JSON.stringify(name)}: letters, digits, '.', '_' and '-' only, at most 81`);
  if (!Number.isSafeInteger(capacityBytes) || capacityBytes <= 0) throw new PcgError('PCG_ERR_CONFIG_INVALID', `disk capacity ${capacityBytes}: a positive number of bytes`);
  const vmdkBytes = (await stat(vmdkPath)).size;
  if (vmdkBytes > USTAR_MAX_SIZE) throw new PcgError('PCG_ERR_CONFIG_INVALID', `${vmdkPath} is ${vmdkBytes} bytes; a ustar entry holds less than 8 GiB`);
  const diskFile = `${name}-disk1.vmdk`;
  const descriptor = Buffer.from(buildOvfDescriptor({ name, version, diskFile, diskFileBytes: vmdkBytes, diskCapacityBytes: capacityBytes }));
  const manifest = Buffer.from(formatManifest([
    { file: `${name}.ovf`, sha256: sha256(descriptor) },
    { file: diskFile, sha256: await sha256File(vmdkPath) },
  ]));
  const ovfPath = join(outDir, `${name}.ovf`);
  const manifestPath = join(outDir, `${name}.mf`);
  const ovaPath = join(outDir, `${name}.ova`);
  await writeFile(ovfPath, descriptor);
  await writeFile(manifestPath, manifest);

  const partial = `${ovaPath}.partial`;
  const tar = pack();
  const written = pipeline(tar, createWriteStream(partial));
  try {
    await addEntry(tar, `${name}.ovf`, descriptor);
    await addEntry(tar, `${name}.mf`, manifest);
    const entry = tar.entry({ ...FIXED, name: diskFile, size: vmdkBytes });
    await pipeline(createReadStream(vmdkPath), entry);
    tar.finalize();
    await written;
    await rename(partial, ovaPath);
  } catch (err) {
    tar.destroy();
    await written.catch(() => undefined);
    await rm(partial, { force: true });
    throw err;
  }
  return { ovaPath, ovfPath, manifestPath };
}

function addEntry(tar: ReturnType<typeof pack>, name: string, content: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    tar.entry({ ...FIXED, name, size: content.length }, content, (err) => (err ? reject(err) : resolve()));
  });
}
