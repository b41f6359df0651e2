import type { Digest } from './content-store.js';

/**
 * The distribution spec's grammars (v1.1, "Pulling manifests"): a repository name is path
 * components of lowercase alphanumerics joined by `.`, `_`, `__` or runs of `-`, separated by `/`;
 * a tag is at most 128 characters starting with a word character.
 */
const NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** The image spec's digest grammar: `algorithm:encoded`. */
const ANY_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;

/**
 * Many clients cap `host/name` at 255 characters (the spec's note on name length); a longer name
 * could be stored here but never pulled, so it is refused up front.
 */
export const MAX_NAME_LENGTH = 255;

export const isRepositoryName = (name: string): boolean => name.length <= MAX_NAME_LENGTH && NAME.test(name);
export const isTag = (tag: string): boolean => TAG.test(tag);
/** Any well-formed digest (for telling a digest reference from a tag). */
export const looksLikeDigest = (reference: string): boolean => ANY_DIGEST.test(reference);
/** A digest this registry can store: sha256 with 64 lowercase hex characters. */
export const isSha256Digest = (value: string): value is Digest => SHA256.test(value);
