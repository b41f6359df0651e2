/**
 * The rules on what a pack holds, run once every entry has passed the archive checks and the
 * text files are in memory: required files, the charts/ and manifests/ layout, every path
 * pack.json names, YAML that parses, values that satisfy schema.yaml, the expected name.
 */
import { PackError, packError, type PackIssue } from './pack-error.js';
import { checkPackManifest, type PackManifest } from './pack-manifest.js';
import { checkValuesSchema } from './pack-values-schema.js';
import { parsePackYaml, parsePackYamlStream } from './pack-yaml.js';
import type { PackEntry } from './pack-zip-entry.js';

/** What the caller knows the pack must be (the upload path `/v1/packs/NAME/VERSION`, `packctl build NAME`). */
export interface ExpectedPack {
  readonly name?: string;
  readonly version?: string;
}

const ROOT_TEXT_FILES = new Set(['pack.json', 'values.yaml', 'presets.yaml', 'schema.yaml']);
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Whether the archive reader keeps this entry's text for the checks below. */
export function isParsedTextFile(path: string): boolean {
  if (ROOT_TEXT_FILES.has(path)) return true;
  if (/^charts\/[^/]+\/Chart\.yaml$/.test(path)) return true;
  return /^manifests\/[^/]+\.ya?ml$/.test(path);
}

/** Bytes of each file's start the reader keeps, enough for the magic numbers checked here. */
export const HEAD_BYTES = PNG_SIGNATURE.length;

/**
 * Applies the content rules; returns the checked manifest. `texts` holds every entry for which
 * `isParsedTextFile` is true, `heads` the first HEAD_BYTES of every file.
 */
export function checkPackContent(entries: readonly PackEntry[], texts: ReadonlyMap<string, string>, heads: ReadonlyMap<string, Buffer>,
  expected: ExpectedPack = {}): PackManifest {
  const files = new Set(entries.filter((e) => !e.directory).map((e) => e.path));
  const directories = new Set(entries.filter((e) => e.directory).map((e) => e.path));
  for (const file of files) for (const dir of ancestors(file)) directories.add(dir);

  for (const required of ['pack.json', 'values.yaml']) {
    if (!files.has(required)) throw packError('PCG_ERR_PACK_INVALID', 'missing-file', `the pack has no ${required} at its root`, { entry: required });
  }
  const manifest = checkPackManifest(parseJson(texts.get('pack.json') ?? ''));
  if (expected.name !== undefined && manifest.name !== expected.name) {
    throw packError('PCG_ERR_PACK_MISMATCH', 'name-mismatch', `the pack is '${manifest.name}', not '${expected.name}'`, { entry: 'pack.json', pointer: '/name' });
  }
  if (expected.version !== undefined && manifest.version !== expected.version) {
    throw packError('PCG_ERR_PACK_MISMATCH', 'version-mismatch', `the pack is version ${manifest.version}, not ${expected.version}`, { entry: 'pack.json', pointer: '/version' });
  }

  const values = parsePackYaml(texts.get('values.yaml') ?? '', 'values.yaml');
  if (values.value !== null && (typeof values.value !== 'object' || Array.isArray(values.value))) {
    throw packError('PCG_ERR_PACK_INVALID', 'values-not-mapping', 'values must be a mapping of keys to values (or empty)', { entry: 'values.yaml', line: 1, column: 1 });
  }
  if (files.has('presets.yaml')) parsePackYaml(texts.get('presets.yaml') ?? '', 'presets.yaml');
  if (files.has('schema.yaml')) checkValuesSchema(parsePackYaml(texts.get('schema.yaml') ?? '', 'schema.yaml'), values);
  if (files.has('logo.png') && !heads.get('logo.png')?.equals(PNG_SIGNATURE)) {
    throw packError('PCG_ERR_PACK_INVALID', 'logo-not-png', 'logo.png is not a PNG image', { entry: 'logo.png' });
  }
  checkCharts(files, texts, heads);
  for (const path of files) {
    if (!path.startsWith('manifests/')) continue;
    if (!/^manifests\/[^/]+\.ya?ml$/.test(path)) {
      throw packError('PCG_ERR_PACK_INVALID', 'manifest-layout', 'manifests/ holds only .yaml files, directly', { entry: path });
    }
    parsePackYamlStream(texts.get(path) ?? '', path);
  }
  checkNamedPaths(manifest, files, directories);
  return manifest;
}

/** charts/ holds packaged charts (`NAME-VERSION.tgz`) or chart folders, each with its Chart.yaml. */
function checkCharts(files: ReadonlySet<string>, texts: ReadonlyMap<string, string>, heads: ReadonlyMap<string, Buffer>): void {
  const folders = new Set<string>();
  for (const path of files) {
    const parts = path.split('/');
    if (parts[0] !== 'charts') continue;
    if (parts.length === 2) {
      if (!path.endsWith('.tgz')) throw packError('PCG_ERR_PACK_INVALID', 'chart-layout', 'charts/ holds .tgz charts or chart folders only', { entry: path });
      const head = heads.get(path);
      if (!head || head[0] !== 0x1f || head[1] !== 0x8b) throw packError('PCG_ERR_PACK_INVALID', 'chart-not-gzip', 'a .tgz chart must be gzip data', { entry: path });
    } else {
      folders.add(`charts/${parts[1]}`);
    }
  }
  for (const folder of folders) {
    const chartFile = `${folder}/Chart.yaml`;
    if (!files.has(chartFile)) throw packError('PCG_ERR_PACK_INVALID', 'chart-layout', 'a chart folder must have a Chart.yaml', { entry: folder });
    const chart = parsePackYaml(texts.get(chartFile) ?? '', chartFile).value as { name?: unknown; version?: unknown } | null;
    for (const field of ['name', 'version'] as const) {
      const value = chart?.[field];
      if (typeof value !== 'string' || value === '') {
        throw packError('PCG_ERR_PACK_INVALID', 'chart-metadata', `Chart.yaml needs ${field} as a string`, { entry: chartFile, pointer: `/${field}` });
      }
    }
  }
}

/** Every path pack.json names must be in the archive: a chart or role as a file or folder, a manifest as a file. */
function checkNamedPaths(manifest: PackManifest, files: ReadonlySet<string>, directories: ReadonlySet<string>): void {
  const issues: PackIssue[] = [];
  const named = (field: 'charts' | 'kubeManifests' | 'ansibleRoles', folderAllowed: boolean) => {
    (manifest[field] ?? []).forEach((raw, i) => {
      const path = raw.split('/').filter((s) => s !== '' && s !== '.').join('/');
      if (files.has(path) || (folderAllowed && directories.has(path))) return;
      issues.push({ entry: 'pack.json', pointer: `/${field}/${i}`, rule: 'missing-path', message: `'${raw}' is not in the archive` });
    });
  };
  named('charts', true);
  named('kubeManifests', false);
  named('ansibleRoles', true);
  if (issues.length > 0) throw new PackError('PCG_ERR_PACK_INVALID', issues);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw packError('PCG_ERR_PACK_INVALID', 'json-syntax', `not valid JSON: ${(err as Error).message}`, { entry: 'pack.json' });
  }
}

function* ancestors(path: string): Generator<string> {
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) yield path.slice(0, i);
}
