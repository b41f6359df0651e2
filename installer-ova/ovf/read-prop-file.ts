import { PcgError } from '../../proto/errors.js';
import { readSecretFile } from '../../proto/secret-file.js';

/**
 * `pcg-installer deploy --prop-file FILE`: vApp property values kept out of the command line
 * (the process list, shell history), for the pairing code and the setup token above all. The file
 * is its owner's alone (0600, the rule of every secret file here) and holds either one JSON object
 * of strings, `{"pcg.pairingCode": "ABCD-…"}`, or `key=value` lines (blank lines and `#` comments
 * skipped; the value is the rest of the line, `=` included). Errors name the file, the key or the
 * line number, never a value.
 */
export async function readPropFile(path: string): Promise<Record<string, string>> {
  const text = (await readSecretFile(path, '--prop-file')).reveal();
  const invalid = (what: string): PcgError => new PcgError('PCG_ERR_CONFIG_INVALID', `--prop-file ${path}: ${what}`);
  return text.trimStart().startsWith('{') ? fromJson(text, invalid) : fromLines(text, invalid);
}

function fromJson(text: string, invalid: (what: string) => PcgError): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text around the fault, which may be the secret.
    throw invalid('not valid JSON; want {"key": "value", …} or key=value lines');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('want one JSON object {"key": "value", …}');
  for (const [key, value] of Object.entries(parsed)) {
    if (key === '') throw invalid('an empty key');
    if (typeof value !== 'string') throw invalid(`${key}: the value must be a JSON string`);
  }
  return parsed as Record<string, string>;
}

function fromLines(text: string, invalid: (what: string) => PcgError): Record<string, string> {
  const values = new Map<string, string>();
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const at = line.indexOf('=');
    const key = at > 0 ? line.slice(0, at).trim() : '';
    if (key === '') throw invalid(`line ${index + 1}: want key=value`);
    if (values.has(key)) throw invalid(`${key}: given twice`);
    values.set(key, line.slice(at + 1));
  }
  return Object.fromEntries(values);
}
