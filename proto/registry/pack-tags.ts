/**
 * The tags of a pack repository (`packs/<name>`), as the product has them. Three kinds share the
 * OCI tag namespace of one repository, told apart by their spelling alone so that any OCI client
 * listing the tags (oras, skopeo) sees the same thing the native API does:
 *
 *   version  `14.4.3`, `1.0.0-rc.1`, `1.0.0_build.5`   one per pack version, set on upload, immutable
 *   parent   `14.x`, `14.4.x`                         kept by the registry: newest release matching
 *   label    `lts__14.4.3`, `stable`                  `group__label` (or a bare label), moved by users
 *
 * OCI tags may not hold `+`, so semver build metadata is written with `_` (as helm does for charts).
 * Parent tags follow `semver.maxSatisfying`: pre-releases never become `14.x`, since a user who
 * pins "latest 14" does not mean a release candidate.
 */
import semver from 'semver';
import { PcgError } from '../errors.js';

export type PackTagKind = 'version' | 'parent' | 'label';

/** The OCI distribution spec's tag grammar. */
const OCI_TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const PARENT_TAG = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))?\.x$/;
/** One part of a label: no `__` inside (that is the group separator), no leading punctuation. */
const LABEL_PART = /^[a-z0-9](?:[a-z0-9.-]|_(?!_))*$/i;
export const GROUP_SEPARATOR = '__';

/** The tag a version is stored under: the version with build metadata's `+` written `_`. */
export function versionTag(version: string): string {
  return version.replace('+', '_');
}

/** The version a version tag names, or undefined when `tag` is not one. */
export function versionOfTag(tag: string): string | undefined {
  const version = tag.replace(/_(?=[^_]*$)/, '+');
  if (isSemver(version) && versionTag(version) === tag) return version;
  return isSemver(tag) ? tag : undefined;
}

/** Strict semver, build metadata included (`semver.valid` drops it, so it cannot say this). */
function isSemver(text: string): boolean {
  return semver.parse(text)?.raw === text && !text.startsWith('v') && !text.startsWith('=');
}

export function tagKind(tag: string): PackTagKind {
  if (PARENT_TAG.test(tag)) return 'parent';
  if (versionOfTag(tag) !== undefined) return 'version';
  return 'label';
}

/**
 * The label tag for `label` in `group` (`lts__14.4.3`), or `label` alone without a group. Throws
 * PCG_ERR_BAD_REQUEST for a name OCI clients cannot carry and PCG_ERR_PACK_TAG_RESERVED for one
 * that reads as a version or parent tag.
 */
export function labelTag(label: string, group?: string): string {
  for (const [what, part] of [['label', label], ['group', group]] as const) {
    if (part === undefined) continue;
    if (!LABEL_PART.test(part) || part.length > 60) {
      throw new PcgError('PCG_ERR_BAD_REQUEST', `${what} '${part}' must be letters, digits, '.', '-' and single '_', starting with a letter or digit, at most 60 characters`);
    }
  }
  const tag = group === undefined ? label : `${group}${GROUP_SEPARATOR}${label}`;
  if (!OCI_TAG.test(tag)) throw new PcgError('PCG_ERR_BAD_REQUEST', `'${tag}' is not a valid tag`);
  const kind = tagKind(tag);
  if (kind !== 'label') throw new PcgError('PCG_ERR_PACK_TAG_RESERVED', `'${tag}' reads as a ${kind} tag, which the registry keeps itself`);
  return tag;
}

/** A label tag split into its group and label (`lts__14.4.3` → lts, 14.4.3). */
export function splitLabelTag(tag: string): { readonly group: string | null; readonly label: string } {
  const at = tag.indexOf(GROUP_SEPARATOR);
  return at < 0 ? { group: null, label: tag } : { group: tag.slice(0, at), label: tag.slice(at + GROUP_SEPARATOR.length) };
}

/**
 * Every parent tag the given versions call for, with the version it points at: `14.x` → newest
 * 14 release, `14.4.x` → newest 14.4 release. Pre-releases count only as themselves.
 */
export function parentTags(versions: readonly string[]): Map<string, string> {
  const releases = versions.filter((v) => semver.valid(v) !== null && semver.prerelease(v) === null);
  const wanted = new Map<string, string>();
  for (const v of releases) {
    const { major, minor } = semver.parse(v)!;
    for (const tag of [`${major}.x`, `${major}.${minor}.x`]) {
      const current = wanted.get(tag);
      if (current === undefined || semver.gt(v, current) || (semver.eq(v, current) && v > current)) wanted.set(tag, v);
    }
  }
  return wanted;
}

/**
 * A key that sorts versions in semver order as plain text (SQLite orders by it): numbers padded,
 * a release after its pre-releases (`~` sorts after `-`), the full version last so that two
 * versions differing in build metadata only stay distinct. Pre-release identifiers compare as text.
 */
export function versionSortKey(version: string): string {
  const parsed = semver.parse(version);
  if (!parsed) return `~${version}`;
  const pad = (n: number) => String(n).padStart(12, '0');
  const pre = parsed.prerelease.length > 0 ? `-${parsed.prerelease.join('.')}` : '~';
  return `${pad(parsed.major)}.${pad(parsed.minor)}.${pad(parsed.patch)}${pre}|${version}`;
}
