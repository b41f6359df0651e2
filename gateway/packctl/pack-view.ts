/** A pack as the native API returns it (list item; `pack` only on a single pack). */
export interface PackView {
  readonly name: string;
  readonly version: string;
  readonly displayName: string;
  readonly layer: string;
  readonly cloudTypes: readonly string[];
  readonly addonType: string | null;
  /** sha256 of the archive. */
  readonly digest: string;
  readonly size: number;
  readonly manifestDigest: string;
  readonly message: string | null;
  readonly tags: readonly string[];
  readonly pack?: Record<string, unknown>;
}

export interface PackPage {
  readonly items: readonly PackView[];
  readonly nextCursor: string | null;
}
