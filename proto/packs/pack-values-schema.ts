/**
 * `schema.yaml`: a JSON Schema (draft-07) written in YAML that a pack's values must satisfy.
 * Validated with Ajv, the validator fastify already brings (one well-kept implementation in the
 * tree, not a second one). A fresh Ajv per pack: its compiled-schema cache would otherwise grow
 * with every upload, and one pack's `$id` must not resolve against another's.
 */
import { Ajv, type ErrorObject } from 'ajv';
import { PackError, type PackIssue } from './pack-error.js';
import { linePosition, type ParsedYaml } from './pack-yaml.js';

/**
 * Checks `values` against `schema`; PCG_ERR_PACK_INVALID naming each failing key (JSON pointer
 * into values.yaml, its line and column) or, when the schema itself is broken, schema.yaml.
 */
export function checkValuesSchema(schema: ParsedYaml, values: ParsedYaml): void {
  if (schema.value === null || typeof schema.value !== 'object' || Array.isArray(schema.value)) {
    throw new PackError('PCG_ERR_PACK_INVALID', [{ entry: schema.entry, rule: 'schema-invalid', message: 'must be a JSON Schema object' }]);
  }
  const declared = (schema.value as { $schema?: unknown }).$schema;
  if (declared !== undefined && !(typeof declared === 'string' && /^https?:\/\/json-schema\.org\/draft-07\/schema#?$/.test(declared))) {
    throw new PackError('PCG_ERR_PACK_INVALID', [{ entry: schema.entry, pointer: '/$schema', rule: 'schema-invalid', message: `only JSON Schema draft-07 is supported, not ${JSON.stringify(declared)}` }]);
  }
  // strict: false: keywords Ajv does not know (x-*, Helm's own) are annotations, not errors.
  // Formats are not checked: that needs ajv-formats, and values are re-checked where they are used.
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  let validate;
  try {
    validate = ajv.compile(schema.value);
  } catch (err) {
    throw new PackError('PCG_ERR_PACK_INVALID', [{ entry: schema.entry, rule: 'schema-invalid', message: `not a valid JSON Schema: ${(err as Error).message}` }], { cause: err });
  }
  const data = values.value ?? {};
  if (validate(data)) return;
  const issues = (validate.errors ?? []).slice(0, 20).map((e) => toIssue(e, values));
  throw new PackError('PCG_ERR_PACK_INVALID', issues);
}

function toIssue(error: ErrorObject, values: ParsedYaml): PackIssue {
  // A missing property is reported at its parent; name the property itself, as a user looks for it.
  const missing = error.keyword === 'required' ? (error.params as { missingProperty?: string }).missingProperty : undefined;
  const pointer = missing === undefined ? error.instancePath : `${error.instancePath}/${escape(missing)}`;
  const path = error.instancePath.split('/').slice(1).map(unescape).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  const pos = linePosition(values, path);
  return {
    entry: values.entry, pointer, rule: 'values-schema',
    message: `${error.message ?? 'is invalid'} (schema.yaml ${error.schemaPath})`,
    ...(pos ? { line: pos.line, column: pos.column } : {}),
  };
}

const escape = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');
const unescape = (s: string) => s.replace(/~1/g, '/').replace(/~0/g, '~');
