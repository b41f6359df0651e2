import { existsSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InputDigest } from './build-inputs.js';
import { runTool } from './run-tool.js';

export interface ProductInput {
  /** The repository root: package.json, package-lock.json, node_modules/. */
  readonly repoDir: string;
  /** The compiled tree (dist/ or a --outDir): what the appliance runs. */
  readonly distDir: string;
  /** Where pruned node_modules are kept between builds. */
  readonly cacheDir: string;
}

/** Compiled tests are not part of the product. */
const DIST_SKIP = ['test'];

/**
 * Adds the digest of everything that ends up in /opt/pcg: the compiled product, the package
 * files, the wizard's static files and the node binary the build runs on.
 */
export async function digestProduct(input: ProductInput, digest: InputDigest): Promise<void> {
  await digest.tree(input.distDir, DIST_SKIP);
  await digest.file(join(input.repoDir, 'package.json'));
  await digest.file(join(input.repoDir, 'package-lock.json'));
  await digest.tree(join(input.repoDir, 'installer-ova', 'wizard', 'static'));
  digest.text('node', `${process.version} ${process.arch} ${process.execPath}`);
}

/**
 * Writes the product into `<root>/opt/pcg`: dist/ (without tests), package.json, production
 * node_modules, and the node binary the build itself runs on as bin/node — the guest runs the
 * same version the product was built and tested with (bookworm's own node is 18), and native
 * modules (better-sqlite3) were compiled for it against a glibc bookworm shares.
 */
export async function stageProduct(input: ProductInput, rootDir: string): Promise<void> {
  const productDir = join(rootDir, 'opt', 'pcg');
  await rm(productDir, { recursive: true, force: true });
  await mkdir(join(productDir, 'bin'), { recursive: true, mode: 0o755 });
  await copyFile(process.execPath, join(productDir, 'bin', 'node'));
  await chmod(join(productDir, 'bin', 'node'), 0o755);

  const dist = join(productDir, 'dist');
  for (const name of await readdir(input.distDir)) {
    if (!DIST_SKIP.includes(name)) await cp(join(input.distDir, name), join(dist, name), { recursive: true });
  }
  // `make build` copies the wizard's page next to the compiled server; a bare tsc --outDir does not.
  const staticDir = join(dist, 'installer-ova', 'wizard', 'static');
  if (!existsSync(staticDir)) await cp(join(input.repoDir, 'installer-ova', 'wizard', 'static'), staticDir, { recursive: true });
  await copyFile(join(input.repoDir, 'package.json'), join(productDir, 'package.json'));
  await cp(await productionModules(input), join(productDir, 'node_modules'), { recursive: true, verbatimSymlinks: true });
}

/**
 * node_modules without dev dependencies: a copy of the checkout's, pruned offline by npm (no
 * registry access, no install scripts: the native module is already built), then trimmed of
 * better-sqlite3's sources and object files. Kept per package-lock and node version.
 */
async function productionModules(input: ProductInput): Promise<string> {
  const digest = new InputDigest().text('node', `${process.version} ${process.arch}`);
  await digest.file(join(input.repoDir, 'package-lock.json'));
  const dir = join(input.cacheDir, `node-modules-${digest.short()}`);
  const modules = join(dir, 'node_modules');
  if (existsSync(modules)) return modules;

  for (const name of existsSync(input.cacheDir) ? await readdir(input.cacheDir) : []) {
    if (name.startsWith('node-modules-')) await rm(join(input.cacheDir, name), { recursive: true, force: true });
  }
  const partial = `${dir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  await copyFile(join(input.repoDir, 'package.json'), join(partial, 'package.json'));
  await copyFile(join(input.repoDir, 'package-lock.json'), join(partial, 'package-lock.json'));
  await cp(join(input.repoDir, 'node_modules'), join(partial, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  await runTool('npm', ['prune', '--omit=dev', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: partial });
  await rm(join(partial, 'node_modules', '.install-stamp'), { force: true });
  const sqlite = join(partial, 'node_modules', 'better-sqlite3');
  if (existsSync(join(sqlite, 'build', 'Release', 'better_sqlite3.node'))) {
    await rename(join(sqlite, 'build', 'Release', 'better_sqlite3.node'), join(sqlite, 'better_sqlite3.node'));
    await rm(join(sqlite, 'build'), { recursive: true, force: true });
    await mkdir(join(sqlite, 'build', 'Release'), { recursive: true });
    await rename(join(sqlite, 'better_sqlite3.node'), join(sqlite, 'build', 'Release', 'better_sqlite3.node'));
    await rm(join(sqlite, 'deps'), { recursive: true, force: true });
    await rm(join(sqlite, 'src'), { recursive: true, force: true });
  }
  await rename(partial, dir);
  return modules;
}
