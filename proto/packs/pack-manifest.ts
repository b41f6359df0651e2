/**
 * `pack.json`, the manifest of a pack: the one schema the gateway's registry, the relay's public
 * registry and packctl all check packs with. Field names follow the product's pack.json.
 *
 * Unknown top-level fields and unknown cloud types are kept, not refused: the pack format grows
 * on the SaaS side first (the product's cloud-type list has changed from release to release), and
 * a gateway one version behind must still sync and serve the public packs it does not deploy
 * itself. What a field we know must look like is enforced strictly.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import semver from 'semver';
import { checkEntryPath } from './pack-entry-path.js';
import { PackError, type PackIssue } from './pack-error.js';

/** Pack names as the product spells them (`csi-vsphere-csi`, `ubuntu-vsphere`): lowercase, digits, inner dashes. */
export const PACK_NAME_PATTERN = '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$';
export const PackName = Type.String({ pattern: PACK_NAME_PATTERN, maxLength: 64, description: 'lowercase letters, digits and dashes' });

export const PACK_LAYERS = ['kernel', 'os', 'k8s', 'cni', 'csi', 'addon'] as const;
export const PackLayerSchema = Type.Union(PACK_LAYERS.map((l) => Type.Literal(l)));
export type PackLayer = (typeof PACK_LAYERS)[number];

/** Cloud types the product documents; others are kept (see the file comment) if they look like one. */
export const KNOWN_CLOUD_TYPES = ['all', 'vsphere', 'aws', 'azure', 'gcp', 'openstack', 'maas', 'edge-native', 'edge',
  'baremetal', 'aks', 'eks', 'coxedge', 'libvirt'] as const;
const CloudType = Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$', maxLength: 32 });

/** A semantic version, checked with `semver` after the schema (a pattern cannot say it as well). */
const Version = Type.String({ minLength: 1, maxLength: 64 });
/** A path inside the archive; `checkEntryPath` decides after the schema (no `..`, not absolute). */
const ArchivePath = Type.String({ minLength: 1, maxLength: 512 });
const Text = (maxLength: number) => Type.String({ minLength: 1, maxLength });

export const DependencyTypeSchema = Type.Union(['required', 'optional', 'notSupported', 'upgrade'].map((t) => Type.Literal(t)));
export const PackDependencySchema = Type.Object({
  packName: PackName,
  layer: PackLayerSchema,
  minVersion: Type.Optional(Version),
  maxVersion: Type.Optional(Version),
  type: DependencyTypeSchema,
});

export const ResourceComponentSchema = Type.Object({
  scheduleType: Type.Union(['all', 'control-plane', 'worker'].map((t) => Type.Literal(t))),
  /** Values path of the component's resource request (`resources.requests.cpu`). */
  resourceRequestParamRef: Text(256),
  /** Values path of its replica count; absent for `all` (a DaemonSet runs once per node). */
  replicaCountParamRef: Type.Optional(Text(256)),
});

export const ResourceConstraintSchema = Type.Object({
  type: Type.Union(['cpu', 'memory', 'diskSize'].map((t) => Type.Literal(t))),
  /** The least the cluster must offer for this pack, in the unit of `type` (cores, MiB, GiB). */
  minLimit: Type.Number({ minimum: 0 }),
  components: Type.Optional(Type.Array(ResourceComponentSchema, { maxItems: 64 })),
});

export const PackManifestSchema = Type.Object({
  name: PackName,
  displayName: Text(128),
  version: Version,
  layer: PackLayerSchema,
  cloudTypes: Type.Array(CloudType, { minItems: 1, maxItems: 32, uniqueItems: true }),
  addonType: Type.Optional(Text(64)),
  addonSubType: Type.Optional(Text(64)),
  group: Type.Optional(Text(64)),
  /** End of life, `yyyy-MM-dd` as the product writes it. */
  eol: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
  charts: Type.Optional(Type.Array(ArchivePath, { maxItems: 64 })),
  kubeManifests: Type.Optional(Type.Array(ArchivePath, { maxItems: 256 })),
  ansibleRoles: Type.Optional(Type.Array(ArchivePath, { maxItems: 64 })),
  /** Free key/value pairs; OS packs carry `imageId`, `folder`, `osName`, `sshUsername`. */
  annotations: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 253 }), Type.String({ maxLength: 4096 }), { maxProperties: 128 })),
  constraints: Type.Optional(Type.Object({
    dependencies: Type.Optional(Type.Array(PackDependencySchema, { maxItems: 64 })),
    resources: Type.Optional(Type.Array(ResourceConstraintSchema, { maxItems: 16 })),
  })),
});
export type PackManifest = Static<typeof PackManifestSchema>;

const check = TypeCompiler.Compile(PackManifestSchema);

/**
 * Validates a parsed `pack.json` and returns it typed. Every broken rule is reported (JSON pointer
 * and message), so an author fixes the file in one round; throws PCG_ERR_PACK_INVALID.
 */
export function checkPackManifest(value: unknown, entry = 'pack.json'): PackManifest {
  const issues: PackIssue[] = [];
  const seen = new Set<string>();
  for (const error of check.Errors(value)) {
    // One issue per field: a union reports once per branch, which says nothing more.
    if (seen.has(error.path)) continue;
    seen.add(error.path);
    issues.push({ entry, pointer: error.path, rule: 'schema', message: describe(error.schema, error.message) });
    if (issues.length >= 20) break;
  }
  if (issues.length > 0) throw new PackError('PCG_ERR_PACK_INVALID', issues);
  const manifest = value as PackManifest;
  issues.push(...semanticIssues(manifest, entry));
  if (issues.length > 0) throw new PackError('PCG_ERR_PACK_INVALID', issues);
  return manifest;
}

/** Rules a JSON Schema cannot say: semver, real dates, safe paths, version ranges that can hold. */
function semanticIssues(m: PackManifest, entry: string): PackIssue[] {
  const issues: PackIssue[] = [];
  const at = (pointer: string, rule: string, message: string) => issues.push({ entry, pointer, rule, message });
  // Strict semver: `v1.2.3` and `=1.2.3` are refused, since the version is a tag and a path segment.
  const semverAt = (pointer: string, v: string) => {
    if (semver.valid(v) !== v) at(pointer, 'semver', `'${v}' is not a semantic version (MAJOR.MINOR.PATCH[-pre][+build])`);
  };
  semverAt('/version', m.version);
  if (m.eol !== undefined && !isRealDate(m.eol)) at('/eol', 'date', `'${m.eol}' is not a calendar date (yyyy-MM-dd)`);
  for (const field of ['charts', 'kubeManifests', 'ansibleRoles'] as const) {
    (m[field] ?? []).forEach((p, i) => {
      const result = checkEntryPath(p);
      if (!result.ok) at(`/${field}/${i}`, result.rule, `'${p}': ${result.message}`);
    });
  }
  (m.constraints?.dependencies ?? []).forEach((d, i) => {
    if (d.minVersion !== undefined) semverAt(`/constraints/dependencies/${i}/minVersion`, d.minVersion);
    if (d.maxVersion !== undefined) semverAt(`/constraints/dependencies/${i}/maxVersion`, d.maxVersion);
    if (d.minVersion && d.maxVersion && semver.valid(d.minVersion) && semver.valid(d.maxVersion) && semver.gt(d.minVersion, d.maxVersion)) {
      at(`/constraints/dependencies/${i}`, 'version-range', `minVersion ${d.minVersion} is above maxVersion ${d.maxVersion}`);
    }
    if (d.packName === m.name) at(`/constraints/dependencies/${i}/packName`, 'self-dependency', 'a pack cannot depend on itself');
  });
  return issues;
}

function isRealDate(text: string): boolean {
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
}

/** TypeBox says "Expected union value" for an enum; the user needs the allowed values. */
function describe(schema: TSchema, fallback: string): string {
  const anyOf = (schema as { anyOf?: { const?: unknown }[] }).anyOf;
  if (anyOf?.every((s) => typeof s.const === 'string')) return `must be one of: ${anyOf.map((s) => s.const as string).join(', ')}`;
  if ((schema as { pattern?: string }).pattern === PACK_NAME_PATTERN) return 'must be lowercase letters, digits and inner dashes, at most 64 characters';
  return fallback.replace(/^Expected/, 'must be');
}
