import semver from 'semver';
import { isMap, parseDocument } from 'yaml';
import { PcgError } from '../../proto/errors.js';
import type { PackLayer, PackRef } from '../../proto/schemas/jobs.js';

/** A profile layer as the API takes it; only the OS layer carries `template`. */
export interface ProfileLayerInput {
  readonly layer: PackLayer;
  readonly registry: string;
  readonly name: string;
  readonly version: string;
  readonly values: string;
  readonly template?: string | undefined;
}

/** The checked layers, ready to store and to hand a gateway in a ClusterSpec. */
export interface ProfileLayers {
  readonly packs: PackRef[];
  /** The OS layer's VM template. */
  readonly template: string;
}

/** os, k8s, cni, csi, each exactly once and in this order; addons after them, any number. */
const FIXED_ORDER: readonly PackLayer[] = ['os', 'k8s', 'cni', 'csi'];

const bad = (detail: string) => new PcgError('PCG_ERR_BAD_REQUEST', detail);

/**
 * Checks a profile's layers: the order `os, k8s, cni, csi, addon*`, a template on the OS layer (and
 * only there), semver versions, and values that parse as one YAML mapping. Invalid YAML is
 * PCG_ERR_VALUES_INVALID naming the layer and the line:column, so the user finds it in the editor.
 */
export function checkProfileLayers(layers: readonly ProfileLayerInput[]): ProfileLayers {
  layers.forEach((layer, index) => {
    const expected = index < FIXED_ORDER.length ? FIXED_ORDER[index]! : 'addon';
    if (layer.layer !== expected) {
      throw bad(`layers[${index}] is "${layer.layer}" but must be "${expected}": layers go os, k8s, cni, csi, then any addons`);
    }
  });
  if (layers.length < FIXED_ORDER.length) throw bad(`a profile needs the layers os, k8s, cni and csi; it has ${layers.length}`);
  const packs = layers.map((layer, index): PackRef => {
    const where = `layers[${index}] (${layer.layer} "${layer.name}")`;
    if (layer.layer === 'os' && !layer.template) throw bad(`${where} must name the VM template to clone (template)`);
    if (layer.layer !== 'os' && layer.template !== undefined) throw bad(`${where}: only the os layer names a template`);
    if (semver.valid(layer.version) === null) throw bad(`${where}: version "${layer.version}" is not a semantic version like 1.30.2`);
    checkValues(layer.values, where);
    return { layer: layer.layer, registry: layer.registry, name: layer.name, version: layer.version, values: layer.values };
  });
  return { packs, template: layers[0]!.template! };
}

function checkValues(values: string, where: string): void {
  const doc = parseDocument(values, { prettyErrors: true });
  const [error] = doc.errors;
  if (error) {
    const at = error.linePos?.[0];
    const position = at ? `line ${at.line}:${at.col}` : 'an unknown line';
    const reason = error.message.split(' at line ')[0]!.split('\n')[0]!;
    throw new PcgError('PCG_ERR_VALUES_INVALID', `${where}: values are not valid YAML at ${position}: ${reason}`, { cause: error });
  }
  // Values are Helm-style: a mapping, or nothing at all.
  if (doc.contents !== null && !isMap(doc.contents)) throw new PcgError('PCG_ERR_VALUES_INVALID', `${where}: values must be a YAML mapping (key: value), at line 1:1`);
}
