import { LineCounter, parseAllDocuments, parseDocument, type Document } from 'yaml';
import { PackError } from './pack-error.js';

/** A parsed YAML file, with what is needed to turn a path in it back into a line. */
export interface ParsedYaml {
  readonly entry: string;
  readonly document: Document.Parsed;
  readonly lines: LineCounter;
  /** The plain value (`null` for an empty file). */
  readonly value: unknown;
}

/**
 * YAML options for files from strangers: duplicate keys are an error (the last one silently
 * winning is how a reviewed value gets overridden), and aliases are capped so a "billion laughs"
 * file cannot expand in memory when converted.
 */
const OPTIONS = { prettyErrors: true, uniqueKeys: true, maxAliasCount: 100 } as const;

/** Parses one YAML document; PCG_ERR_PACK_INVALID with `entry:line:column` when it does not parse. */
export function parsePackYaml(text: string, entry: string): ParsedYaml {
  const lines = new LineCounter();
  const document = parseDocument(text, { ...OPTIONS, lineCounter: lines });
  throwFirstError(document, entry);
  return { entry, document, lines, value: toValue(document, entry) };
}

/** Parses a multi-document YAML file (Kubernetes manifests, `---` separated). */
export function parsePackYamlStream(text: string, entry: string): unknown[] {
  const lines = new LineCounter();
  const documents = parseAllDocuments(text, { ...OPTIONS, lineCounter: lines });
  if (!Array.isArray(documents)) return []; // an empty stream
  for (const document of documents) throwFirstError(document, entry);
  return documents.map((d) => toValue(d, entry));
}

/** The 1-based line and column where the node at `path` (keys and indexes) starts, if it exists. */
export function linePosition(parsed: ParsedYaml, path: readonly (string | number)[]): { line: number; column: number } | undefined {
  const node = path.length === 0 ? parsed.document.contents : parsed.document.getIn(path, true);
  const offset = (node as { range?: [number, number, number] } | undefined)?.range?.[0];
  if (offset === undefined) return undefined;
  const pos = parsed.lines.linePos(offset);
  return { line: pos.line, column: pos.col };
}

function throwFirstError(document: Document.Parsed, entry: string): void {
  const error = document.errors[0];
  if (error === undefined) return;
  const pos = error.linePos?.[0];
  // The first line of yaml's message is the reason; the rest is a source excerpt we do not echo.
  const reason = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  throw new PackError('PCG_ERR_PACK_INVALID', [{
    entry, rule: 'yaml-syntax', message: `not valid YAML: ${reason}`,
    ...(pos ? { line: pos.line, column: pos.col } : {}),
  }]);
}

function toValue(document: Document.Parsed, entry: string): unknown {
  try {
    return document.toJS({ maxAliasCount: OPTIONS.maxAliasCount });
  } catch (err) {
    // toJS refuses alias expansion beyond the cap: the file would be orders of magnitude larger in memory.
    throw new PackError('PCG_ERR_PACK_INVALID', [{ entry, rule: 'yaml-aliases', message: `YAML refused: ${(err as Error).message}` }], { cause: err });
  }
}
