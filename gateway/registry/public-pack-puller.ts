import { PcgError } from '../../proto/errors.js';
import type { ContentStore } from '../../proto/registry/content-store.js';
import { isSha256Digest, isTag } from '../../proto/registry/oci-grammar.js';
import { packRepository, parsePackManifest } from '../../proto/registry/pack-artifact.js';
import type { PackRegistry } from '../../proto/registry/pack-registry.js';
import { versionTag } from '../../proto/registry/pack-tags.js';
import { SingleFlight } from './single-flight.js';

/** What `ensure` found. */
export type EnsuredPack = 'local' | 'pulled' | 'absent';

/**
 * Makes a public pack servable by the native API (`/v1/packs/<name>/<ref>[/archive]`, what nodes
 * fetch): the pack index (PackRegistry) lists only what was uploaded, so a pack pulled through
 * the OCI face (PullThroughStore) is then indexed by uploading its archive from the store, checked
 * as every upload is. The manifest that upload writes is the relay's byte for byte (the same code
 * builds both, with the relay's message), so `/v2/` and `/v1/packs` agree on its digest.
 *
 * Naming: a public pack `kubernetes` 1.30.2 is `packs/kubernetes:1.30.2` on both sides; a version
 * the gateway holds itself is never replaced by the relay's.
 */
export class PublicPackPuller {
  readonly #flights = new SingleFlight<string, EnsuredPack>();

  /** `store` must be the pull-through store, `packs` the PackRegistry over it. */
  constructor(private readonly store: ContentStore, private readonly packs: PackRegistry) {}

  /** `reference`: a version, a tag or a manifest digest. 'absent' when neither the gateway nor the relay has it. */
  ensure(name: string, reference: string): Promise<EnsuredPack> {
    if (this.#indexed(name, reference)) return Promise.resolve('local');
    return this.#flights.run(`${name}\n${reference}`, () => this.#pull(name, reference));
  }

  async #pull(name: string, reference: string): Promise<EnsuredPack> {
    if (this.#indexed(name, reference)) return 'local';
    const ref = isSha256Digest(reference) ? reference : versionTag(reference);
    if (!isSha256Digest(ref) && !isTag(ref)) return 'absent';
    const repo = packRepository(name);
    const manifest = await this.store.getManifest(repo, ref);
    const artifact = manifest && parsePackManifest(manifest.bytes);
    if (!artifact) return 'absent';
    await this.packs.upload({ stream: this.store.readBlob(repo, artifact.archive.digest) }, { message: artifact.message, expected: { name } });
    return 'pulled';
  }

  #indexed(name: string, reference: string): boolean {
    try {
      this.packs.resolve(name, reference);
      return true;
    } catch (err) {
      if (err instanceof PcgError && err.code === 'PCG_ERR_NOT_FOUND') return false;
      throw err;
    }
  }
}
