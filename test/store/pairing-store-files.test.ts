import { strict as assert } from 'node:assert';
import { chmodSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../saas-relay/store/database.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';

/** Issue 7: the relay's store holds pairing-code and API-key hashes; its files are 0600 like its keys. */
describe('relay store files (SQLite) are 0600', function () {
  this.timeout(60_000);
  const modes = (dir: string): Record<string, string> => Object.fromEntries(readdirSync(dir).filter((n) => n.startsWith('relay.db'))
    .map((n) => [n, (statSync(join(dir, n)).mode & 0o777).toString(8)]));

  it('a new store: relay.db, relay.db-wal and relay.db-shm are 0600 whatever the umask', async () => {
    const dir = tempDir('store-mode');
    const previous = process.umask(0o022);
    try {
      const database = await openDatabase(join(dir.path, 'relay.db'));
      try {
        assert.deepEqual(modes(dir.path), { 'relay.db': '600', 'relay.db-shm': '600', 'relay.db-wal': '600' });
      } finally {
        await database.close();
      }
    } finally {
      process.umask(previous);
      dir.remove();
    }
  });

  it('an existing store left 0644 by an older relay is made 0600 when opened', async () => {
    const dir = tempDir('store-mode-old');
    try {
      const first = await openDatabase(join(dir.path, 'relay.db'));
      await first.close();
      for (const name of ['relay.db', 'relay.db-wal', 'relay.db-shm']) {
        writeFileSync(join(dir.path, name), '', { flag: 'a' });
        chmodSync(join(dir.path, name), 0o644);
      }
      const again = await openDatabase(join(dir.path, 'relay.db'));
      try {
        assert.deepEqual(modes(dir.path), { 'relay.db': '600', 'relay.db-shm': '600', 'relay.db-wal': '600' });
      } finally {
        await again.close();
      }
    } finally {
      dir.remove();
    }
  });

  it('pcg-relay serve: the data dir is 0700 and every store file in it 0600', async () => {
    const relay = await RelayProcess.start();
    try {
      await relay.createTenant('modes');
      assert.equal((statSync(relay.dataDir).mode & 0o777).toString(8), '700');
      const store = modes(relay.dataDir);
      assert.ok(Object.keys(store).includes('relay.db'), JSON.stringify(store));
      assert.deepEqual(Object.values(store).filter((m) => m !== '600'), [], JSON.stringify(store));
    } finally {
      await relay.stop();
    }
  });
});
