#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exitWithError } from '../../proto/cli-support.js';
import { PcgError } from '../../proto/errors.js';
import { assembleOva } from '../ovf/assemble-ova.js';
import { baseRootfs, baseRootfsDir } from './base-rootfs.js';
import { InputDigest } from './build-inputs.js';
import { buildDiskImage } from './disk-image.js';
import { digestProduct, stageProduct } from './product-stage.js';

/**
 * `make ova`: the installer appliance as <out>/pcg-installer.ova (and its .vmdk, .ovf, .mf).
 *
 *   base rootfs (mmdebstrap, cached) → product into /opt/pcg → disk image → vmdk → OVA
 *
 * Incremental: a stamp holds the digest of every input (Debian sources and package list, the
 * overlay, the compiled product, node); when it matches, nothing is rebuilt.
 */
const NAME = 'pcg-installer';
/** Thin in vSphere; the vmdk carries only the used blocks (~250 MB). */
const CAPACITY_BYTES = 8 * 1024 ** 3;

const here = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));
/** This file is <dist>/installer-ova/image/build-appliance.js; the source tree is beside <dist>. */
const DIST_DIR = here('../../');
const REPO_DIR = here('../../../');
const IMAGE_SRC = join(REPO_DIR, 'installer-ova', 'image');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: '.tmp/ova' } } });
  // mmdebstrap --mode=root chroots, and mkfs.ext4 -d copies owners as they are on disk.
  if (process.getuid?.() !== 0) throw new PcgError('PCG_ERR_CONFIG_INVALID', 'make ova runs as root (mmdebstrap --mode=root, file owners kept in the image)');
  const outDir = resolve(values.out);
  const cacheDir = join(outDir, 'cache');
  await mkdir(cacheDir, { recursive: true });
  const baseInput = { overlayDir: join(IMAGE_SRC, 'rootfs'), customizeScript: join(IMAGE_SRC, 'customize-rootfs.sh'), cacheDir };
  const productInput = { repoDir: REPO_DIR, distDir: DIST_DIR, cacheDir };
  const version = (JSON.parse(await readFile(join(REPO_DIR, 'package.json'), 'utf8')) as { version: string }).version;

  const vmdkPath = join(outDir, `${NAME}.vmdk`);
  const ovaPath = join(outDir, `${NAME}.ova`);
  const stampPath = join(outDir, `${NAME}.stamp`);
  const digest = new InputDigest().text('base', await baseRootfsDir(baseInput)).text('capacity', String(CAPACITY_BYTES)).text('version', version);
  await digestProduct(productInput, digest);
  const stamp = digest.hex();
  if (existsSync(ovaPath) && existsSync(stampPath) && (await readFile(stampPath, 'utf8')).trim() === stamp) {
    progress(`${ovaPath} is up to date (inputs unchanged)`);
    return;
  }
  await rm(stampPath, { force: true });

  const started = Date.now();
  const base = await phase('base rootfs (mmdebstrap)', () => baseRootfs(baseInput), (b) => (b.cached ? 'cached' : 'built'));
  await phase('product into /opt/pcg', () => stageProduct(productInput, base.dir));
  await phase('disk image and vmdk', () => buildDiskImage({ rootDir: base.dir, workDir: join(outDir, 'work'), vmdkPath, capacityBytes: CAPACITY_BYTES }));
  await phase('OVA', () => assembleOva({ vmdkPath, capacityBytes: CAPACITY_BYTES, outDir, name: NAME, version }));
  await writeFile(stampPath, `${stamp}\n`);
  const mb = (p: string) => stat(p).then((s) => (s.size / 1e6).toFixed(0));
  progress(`${ovaPath}: ${await mb(ovaPath)} MB (vmdk ${await mb(vmdkPath)} MB, disk ${CAPACITY_BYTES / 1024 ** 3} GiB) in ${seconds(started)} s`);
}

async function phase<T>(what: string, run: () => Promise<T>, note?: (result: T) => string): Promise<T> {
  const started = Date.now();
  progress(`${what}…`);
  const result = await run();
  progress(`${what}: ${note ? `${note(result)}, ` : ''}${seconds(started)} s`);
  return result;
}

const seconds = (since: number): string => ((Date.now() - since) / 1000).toFixed(1);
const progress = (line: string): void => void process.stdout.write(`[ova] ${line}\n`);

main().catch(exitWithError);
