import { PcgError, type ErrorCode } from '../errors.js';

/** The pack error codes; each is a different thing for the user to do (see proto/README.md). */
export type PackErrorCode = Extract<ErrorCode,
  'PCG_ERR_PACK_ARCHIVE' | 'PCG_ERR_PACK_TOO_LARGE' | 'PCG_ERR_PACK_INVALID' | 'PCG_ERR_PACK_MISMATCH'>;

/**
 * One broken rule. `rule` is a stable short name (tests and clients match on it, never on the
 * message); `entry` is the archive path the rule is about, `pointer` a JSON pointer into that
 * file's content (pack.json fields, values.yaml keys) and `line`/`column` (1-based) where the
 * file is text we parsed.
 */
export interface PackIssue {
  readonly rule: string;
  readonly message: string;
  readonly entry?: string;
  readonly pointer?: string;
  readonly line?: number;
  readonly column?: number;
}

/** Message of one issue as a user reads it: `values.yaml:3:7 /replicas: must be integer`. */
export function formatPackIssue(issue: PackIssue): string {
  let where = issue.entry ?? '';
  if (issue.line !== undefined) where += `:${issue.line}:${issue.column ?? 1}`;
  if (issue.pointer !== undefined) where += `${where ? ' ' : ''}${issue.pointer === '' ? '/' : issue.pointer}`;
  return where ? `${where}: ${issue.message}` : issue.message;
}

/**
 * A pack refused. Archive rules stop at the first broken one (reading on would mean touching what
 * an attacker prepared); content rules (manifest schema) report every issue found, so an author
 * fixes pack.json in one round.
 */
export class PackError extends PcgError {
  override readonly code: PackErrorCode;
  readonly issues: readonly PackIssue[];

  constructor(code: PackErrorCode, issues: readonly PackIssue[], options?: { cause?: unknown }) {
    const shown = issues.slice(0, 5).map(formatPackIssue).join('; ');
    const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
    super(code, shown + more, options);
    this.name = 'PackError';
    this.code = code;
    this.issues = issues;
  }

  /** The first issue: the one that stopped an archive check. */
  get issue(): PackIssue {
    return this.issues[0] ?? { rule: 'unknown', message: this.message };
  }
}

/** Shorthand for the archive checks, which stop at one issue. */
export function packError(code: PackErrorCode, rule: string, message: string, where: Omit<PackIssue, 'rule' | 'message'> = {}): PackError {
  return new PackError(code, [{ rule, message, ...where }]);
}
