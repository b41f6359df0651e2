import semver from 'semver';
import { PcgError } from '../../proto/errors.js';
import type { PackManifest } from '../../proto/packs/pack-manifest.js';
import type { PackRef } from '../../proto/schemas/jobs.js';
import type { PublicPackCatalog } from '../registry/public-pack-store.js';

/** The registry name of a profile layer that takes its pack from the relay's public registry. */
export const PUBLIC_REGISTRY = 'public';

type Dependency = NonNullable<NonNullable<PackManifest['constraints']>['dependencies']>[number];

/**
 * Checks a profile's packs against the public registry, after checkProfileLayers:
 *
 * 1. every layer whose registry is `public` names a pack version the public registry holds, and
 *    that pack's pack.json layer is the slot's (os, k8s, cni, csi, addon) → PCG_ERR_PROFILE_PACK;
 * 2. every `constraints.dependencies` of those packs holds across the whole profile: a `required`
 *    pack is present in the version range, a `notSupported` one is not → PCG_ERR_PACK_DEPENDENCY
 *    naming both packs. `optional` and `upgrade` constrain nothing at creation.
 *
 * Layers from another registry (a gateway's) are not looked up yet: their index reaches the relay
 * with sync. They still count as present for the dependencies of public packs. `catalog` null (a
 * relay without the public registry) checks nothing.
 */
export async function checkProfilePacks(packs: readonly PackRef[], catalog: PublicPackCatalog | null): Promise<void> {
  if (!catalog) return;
  const manifests: Array<{ readonly pack: PackRef; readonly manifest: PackManifest }> = [];
  for (const [index, pack] of packs.entries()) {
    if (pack.registry !== PUBLIC_REGISTRY) continue;
    const where = `layers[${index}] (${pack.layer} "${pack.name}")`;
    const manifest = await catalog.manifestOf(pack.name, pack.version);
    if (!manifest) throw new PcgError('PCG_ERR_PROFILE_PACK', `${where}: the public registry has no pack ${pack.name}:${pack.version}`);
    if (manifest.layer !== pack.layer) {
      throw new PcgError('PCG_ERR_PROFILE_PACK', `${where}: ${pack.name}:${pack.version} is a ${manifest.layer} pack; the ${pack.layer} slot needs a ${pack.layer} pack`);
    }
    manifests.push({ pack, manifest });
  }
  for (const { pack, manifest } of manifests) {
    for (const dependency of manifest.constraints?.dependencies ?? []) checkDependency(pack, dependency, packs);
  }
}

function checkDependency(pack: PackRef, dependency: Dependency, packs: readonly PackRef[]): void {
  const named = packs.filter((p) => p.name === dependency.packName);
  const matching = named.filter((p) => inRange(p.version, dependency));
  const self = `${pack.name}:${pack.version}`;
  const wanted = `${dependency.packName} (${dependency.layer}${rangeText(dependency)})`;
  if (dependency.type === 'required' && matching.length === 0) {
    const found = named.length > 0 ? `it has ${named.map((p) => `${p.name}:${p.version}`).join(', ')}` : `it has no ${dependency.packName}`;
    throw new PcgError('PCG_ERR_PACK_DEPENDENCY', `${self} requires ${wanted}; ${found}`);
  }
  if (dependency.type === 'notSupported' && matching.length > 0) {
    throw new PcgError('PCG_ERR_PACK_DEPENDENCY', `${self} does not support ${wanted}, which the profile has as ${matching.map((p) => `${p.name}:${p.version}`).join(', ')}; remove one of them`);
  }
}

/** Bounds are inclusive; a bound that is not full semver (`1.28`) is read as its lowest version. */
function inRange(version: string, dependency: Dependency): boolean {
  const bound = (text: string | undefined) => (text === undefined ? undefined : semver.valid(text) ?? semver.coerce(text)?.version);
  const min = bound(dependency.minVersion);
  const max = bound(dependency.maxVersion);
  if (min !== undefined && semver.lt(version, min)) return false;
  if (max !== undefined && semver.gt(version, max)) return false;
  return true;
}

function rangeText(dependency: Dependency): string {
  if (dependency.minVersion && dependency.maxVersion) return `, ${dependency.minVersion} to ${dependency.maxVersion}`;
  if (dependency.minVersion) return `, ${dependency.minVersion} or newer`;
  if (dependency.maxVersion) return `, up to ${dependency.maxVersion}`;
  return '';
}
