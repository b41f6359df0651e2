/**
 * Managed entity names as vCenter returns them. vCenter escapes exactly three characters in a
 * name, `%` as `%25`, `/` as `%2f` and `\` as `%5c` (hex in either case), so that a name can
 * never be mistaken for an inventory path separator. Nothing else is escaped: a `%` that does not
 * start one of those three sequences is the character itself (a name created through an API that
 * did not escape it, e.g. `DC%E0`), so decodeURIComponent would be wrong twice over: it throws on
 * `%E0` (a whole inventory lost to one name) and turns `a%41` into `aA`.
 */
const ESCAPED = /%(2f|5c|25)/gi;
const DECODED: Readonly<Record<string, string>> = { '2f': '/', '5c': '\\', '25': '%' };

/** The name a user typed in vCenter, from its escaped form. */
export function decodeEntityName(escaped: string): string {
  // One left-to-right pass: `%252f` is `%2f` (an escaped `%` followed by `2f`), never `/`.
  return escaped.replace(ESCAPED, (_match, hex: string) => DECODED[hex.toLowerCase()]!);
}
