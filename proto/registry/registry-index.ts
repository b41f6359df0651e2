import Sqlite, { type Database } from 'better-sqlite3';
import type { Digest } from './content-store.js';

/** A manifest row as the index holds it. */
export interface ManifestRow {
  readonly digest: Digest;
  readonly media_type: string;
  readonly artifact_type: string | null;
  readonly subject: Digest | null;
  readonly size: number;
  readonly bytes: Buffer;
}

export interface UploadRow {
  readonly id: string;
  readonly repo: string;
  readonly size: number;
  readonly updated_at: number;
}

/** What a manifest points at: blobs (config, layers) and, for an index, child manifests. */
export interface ManifestRefs {
  readonly blobs: readonly Digest[];
  readonly manifests: readonly Digest[];
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS repositories (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blobs (digest TEXT PRIMARY KEY, size INTEGER NOT NULL, touched_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS repo_blobs (repo TEXT NOT NULL, digest TEXT NOT NULL, linked_at INTEGER NOT NULL, PRIMARY KEY (repo, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS repo_blobs_digest ON repo_blobs (digest);
CREATE TABLE IF NOT EXISTS manifests (
  repo TEXT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL, artifact_type TEXT, subject TEXT,
  size INTEGER NOT NULL, bytes BLOB NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (repo, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS manifests_subject ON manifests (repo, subject);
CREATE TABLE IF NOT EXISTS manifest_refs (
  repo TEXT NOT NULL, manifest TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('blob', 'manifest')), digest TEXT NOT NULL,
  PRIMARY KEY (repo, manifest, kind, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS manifest_refs_digest ON manifest_refs (digest);
CREATE TABLE IF NOT EXISTS tags (repo TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (repo, tag)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_digest ON tags (repo, digest);
CREATE TABLE IF NOT EXISTS uploads (id TEXT PRIMARY KEY, repo TEXT NOT NULL, size INTEGER NOT NULL, started_at INTEGER NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;
`;

/**
 * The registry's SQLite index (`registry.db`): repositories, blobs and their links per repository,
 * manifests with what they reference, tags and uploads in progress. Synchronous on purpose: the
 * store runs "index row + rename" and "choose victims + unlink" each as one synchronous step, so
 * a garbage collection can never interleave with a blob being linked (single process per store).
 */
export class RegistryIndex {
  private constructor(private readonly db: Database) {}

  static open(path: string): RegistryIndex {
    const db = new Sqlite(path);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 5000');
      db.exec(SCHEMA);
      return new RegistryIndex(db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  ensureRepository(repo: string, now: number): void {
    this.db.prepare('INSERT OR IGNORE INTO repositories (name, created_at) VALUES (?, ?)').run(repo, now);
  }

  hasRepository(repo: string): boolean {
    return this.db.prepare('SELECT 1 FROM repositories WHERE name = ?').get(repo) !== undefined;
  }

  listRepositories(n: number, last: string): string[] {
    return (this.db.prepare('SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?').all(last, n) as Array<{ name: string }>).map((r) => r.name);
  }

  blobSize(digest: Digest): number | undefined {
    return (this.db.prepare('SELECT size FROM blobs WHERE digest = ?').get(digest) as { size: number } | undefined)?.size;
  }

  linkedBlobSize(repo: string, digest: Digest): number | undefined {
    const row = this.db.prepare('SELECT b.size FROM repo_blobs l JOIN blobs b ON b.digest = l.digest WHERE l.repo = ? AND l.digest = ?').get(repo, digest);
    return (row as { size: number } | undefined)?.size;
  }

  /** Records the blob (touching it: a fresh push or mount restarts its grace period) and links it into `repo`. */
  putBlob(repo: string, digest: Digest, size: number, now: number): void {
    this.ensureRepository(repo, now);
    this.db.prepare('INSERT INTO blobs (digest, size, touched_at) VALUES (?, ?, ?) ON CONFLICT (digest) DO UPDATE SET touched_at = excluded.touched_at').run(digest, size, now);
    this.db.prepare('INSERT INTO repo_blobs (repo, digest, linked_at) VALUES (?, ?, ?) ON CONFLICT (repo, digest) DO UPDATE SET linked_at = excluded.linked_at').run(repo, digest, now);
  }

  unlinkBlob(repo: string, digest: Digest): boolean {
    return this.db.prepare('DELETE FROM repo_blobs WHERE repo = ? AND digest = ?').run(repo, digest).changes > 0;
  }

  putManifest(repo: string, row: ManifestRow, refs: ManifestRefs, tag: string | undefined, now: number): void {
    this.ensureRepository(repo, now);
    this.db.prepare(`INSERT INTO manifests (repo, digest, media_type, artifact_type, subject, size, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (repo, digest) DO NOTHING`).run(repo, row.digest, row.media_type, row.artifact_type, row.subject, row.size, row.bytes, now);
    const ref = this.db.prepare('INSERT OR IGNORE INTO manifest_refs (repo, manifest, kind, digest) VALUES (?, ?, ?, ?)');
    for (const blob of refs.blobs) ref.run(repo, row.digest, 'blob', blob);
    for (const child of refs.manifests) ref.run(repo, row.digest, 'manifest', child);
    if (tag !== undefined) {
      this.db.prepare('INSERT INTO tags (repo, tag, digest, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (repo, tag) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at')
        .run(repo, tag, row.digest, now);
    }
  }

  manifestByDigest(repo: string, digest: string): ManifestRow | undefined {
    return this.db.prepare('SELECT digest, media_type, artifact_type, subject, size, bytes FROM manifests WHERE repo = ? AND digest = ?').get(repo, digest) as ManifestRow | undefined;
  }

  manifestByTag(repo: string, tag: string): ManifestRow | undefined {
    return this.db.prepare(`SELECT m.digest, m.media_type, m.artifact_type, m.subject, m.size, m.bytes FROM tags t
      JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest WHERE t.repo = ? AND t.tag = ?`).get(repo, tag) as ManifestRow | undefined;
  }

  /** Deletes the manifest, its references and every tag pointing at it (the spec: tags of a deleted manifest go too). */
  deleteManifest(repo: string, digest: Digest): boolean {
    return this.transaction(() => {
      const gone = this.db.prepare('DELETE FROM manifests WHERE repo = ? AND digest = ?').run(repo, digest).changes > 0;
      this.db.prepare('DELETE FROM manifest_refs WHERE repo = ? AND manifest = ?').run(repo, digest);
      this.db.prepare('DELETE FROM tags WHERE repo = ? AND digest = ?').run(repo, digest);
      return gone;
    });
  }

  listTags(repo: string, n: number, last: string): string[] {
    return (this.db.prepare('SELECT tag FROM tags WHERE repo = ? AND tag > ? ORDER BY tag LIMIT ?').all(repo, last, n) as Array<{ tag: string }>).map((r) => r.tag);
  }

  deleteTag(repo: string, tag: string): boolean {
    return this.db.prepare('DELETE FROM tags WHERE repo = ? AND tag = ?').run(repo, tag).changes > 0;
  }

  referrers(repo: string, subject: Digest, artifactType: string | undefined): ManifestRow[] {
    const base = 'SELECT digest, media_type, artifact_type, subject, size, bytes FROM manifests WHERE repo = ? AND subject = ?';
    return (artifactType === undefined
      ? this.db.prepare(`${base} ORDER BY digest`).all(repo, subject)
      : this.db.prepare(`${base} AND artifact_type = ? ORDER BY digest`).all(repo, subject, artifactType)) as ManifestRow[];
  }

  /** Which of `digests` are manifests of `repo`. */
  hasManifest(repo: string, digest: Digest): boolean {
    return this.db.prepare('SELECT 1 FROM manifests WHERE repo = ? AND digest = ?').get(repo, digest) !== undefined;
  }

  startUpload(id: string, repo: string, now: number): void {
    this.ensureRepository(repo, now);
    this.db.prepare('INSERT INTO uploads (id, repo, size, started_at, updated_at) VALUES (?, ?, 0, ?, ?)').run(id, repo, now, now);
  }

  upload(repo: string, id: string): UploadRow | undefined {
    return this.db.prepare('SELECT id, repo, size, updated_at FROM uploads WHERE id = ? AND repo = ?').get(id, repo) as UploadRow | undefined;
  }

  hasUpload(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM uploads WHERE id = ?').get(id) !== undefined;
  }

  setUploadSize(id: string, size: number, now: number): void {
    this.db.prepare('UPDATE uploads SET size = ?, updated_at = ? WHERE id = ?').run(size, now, id);
  }

  deleteUpload(id: string): boolean {
    return this.db.prepare('DELETE FROM uploads WHERE id = ?').run(id).changes > 0;
  }

  /** Uploads untouched since `before` (abandoned by their client). */
  staleUploads(before: number): string[] {
    return (this.db.prepare('SELECT id FROM uploads WHERE updated_at < ?').all(before) as Array<{ id: string }>).map((r) => r.id);
  }

  /**
   * The sweep's victims: blobs no manifest of any repository references, touched before
   * `before`, and not linked into a repository with an upload in progress (its client is still
   * pushing: the manifest that will reference them comes last). Removed from the index here; the
   * caller unlinks the files in the same synchronous step.
   */
  sweepBlobs(before: number): Array<{ digest: Digest; size: number }> {
    return this.transaction(() => {
      const victims = this.db.prepare(`SELECT b.digest, b.size FROM blobs b
        WHERE b.touched_at < ?
          AND NOT EXISTS (SELECT 1 FROM manifest_refs r WHERE r.kind = 'blob' AND r.digest = b.digest)
          AND NOT EXISTS (SELECT 1 FROM repo_blobs l JOIN uploads u ON u.repo = l.repo WHERE l.digest = b.digest)`).all(before) as Array<{ digest: Digest; size: number }>;
      const dropBlob = this.db.prepare('DELETE FROM blobs WHERE digest = ?');
      const dropLinks = this.db.prepare('DELETE FROM repo_blobs WHERE digest = ?');
      for (const { digest } of victims) {
        dropBlob.run(digest);
        dropLinks.run(digest);
      }
      return victims;
    });
  }

  close(): void {
    this.db.close();
  }
}
