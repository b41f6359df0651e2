/**
 * Calls for the same key share one run: while a run for `key` is in flight, later callers get its
 * promise instead of starting another. Nothing is cached after it settles (the caller's store is
 * the cache); a failed run is not remembered either, so the next caller tries again.
 *
 * Pull-through uses it so that 16 nodes asking for the same missing blob at once make one
 * upstream fetch: the blob crosses once, and each of them then reads it from the local store.
 */
export class SingleFlight<K, V> {
  readonly #inFlight = new Map<K, Promise<V>>();

  run(key: K, work: () => Promise<V>): Promise<V> {
    const running = this.#inFlight.get(key);
    if (running) return running;
    const started = (async () => {
      try {
        return await work();
      } finally {
        this.#inFlight.delete(key);
      }
    })();
    this.#inFlight.set(key, started);
    return started;
  }

  /** Runs in flight now (tests, status). */
  get size(): number {
    return this.#inFlight.size;
  }
}
