import { strict as assert } from 'node:assert';
import { cpSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { progressBar } from '../../gateway/packctl/push-progress.js';
import { FIXTURE_DIR } from '../fixtures/packs/pack-test-kit.js';
import { runPackctl, type PackctlResult } from '../support/packctl-cli.js';
import { startPackServer, type PackServer } from '../support/packctl-server.js';
import { tempDir } from '../support/temp-dir.js';

/** Asserts the exit code and, for failures, the PCG code that starts stderr. */
function expectExit(result: PackctlResult, code: number, errorCode?: string): void {
  assert.equal(result.code, code, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  if (errorCode) assert.match(result.stderr, new RegExp(`^${errorCode}: `, "m"), result.stderr);
}

describe('packctl against a registry', function () {
  this.timeout(120_000);
  let server: PackServer;
  let work: ReturnType<typeof tempDir>;
  const run = (...args: string[]) => runPackctl(args, { configHome: join(work.path, 'config'), cwd: work.path });
  const login = (password: string, ...flags: string[]) =>
    runPackctl(['login', server.url, '--username', 'ops', '--password-stdin', ...flags], { configHome: join(work.path, 'config'), input: `${password}\n` });

  before(async () => {
    server = await startPackServer({ tokens: true });
    work = tempDir('packctl');
  });
  after(async () => {
    await server.close();
    work.remove();
  });

  it('logs in over TLS it can verify, saving the offline token 0600 (never the password), and refuses what it cannot', async () => {
    expectExit(await run('ls', '--registry', server.url, '--ca-file', server.caFile), 1, 'PCG_ERR_UNAUTHENTICATED');
    expectExit(await login('ops-secret'), 1, 'PCG_ERR_TLS_UNTRUSTED');
    expectExit(await login('wrong', '--ca-file', server.caFile), 1, 'PCG_ERR_UNAUTHENTICATED');
    expectExit(await run('ls'), 2, 'PCG_ERR_CONFIG_INVALID');
    const ok = await login('ops-secret', '--ca-file', server.caFile);
    expectExit(ok, 0);
    assert.match(ok.stdout, /Logged in to https:\/\/127\.0\.0\.1:\d+ as ops \(token saved\), the default registry/);
    const file = join(work.path, 'config', 'pcg', 'packctl.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const saved = readFileSync(file, 'utf8');
    assert.ok(!saved.includes('ops-secret'), 'the password is not kept when the registry gives a token');
    const entry = JSON.parse(saved).registries[server.url];
    assert.equal(entry.username, 'ops');
    assert.match(entry.refreshToken, /^[0-9a-f]{32}$/);
    assert.equal(entry.password, undefined);
    assert.equal(entry.caFile, server.caFile);
    assert.ok(!ok.stdout.includes(entry.refreshToken) && !ok.stderr.includes(entry.refreshToken));
    server.refreshTokensUsed.length = 0;
    expectExit(await run('ls', '--name', 'hello-addon'), 0);
    assert.deepEqual(server.refreshTokensUsed, ['repository:packs/hello-addon:pull'], 'each command trades the token for its own scope');
  });

  it('saves the password (0600) for a registry without offline tokens', async () => {
    const plain = await startPackServer();
    try {
      const home = join(work.path, 'plain-config');
      const ok = await runPackctl(['login', plain.url, '--username', 'reader', '--password-stdin', '--ca-file', plain.caFile], { configHome: home, input: 'reader-secret\n' });
      expectExit(ok, 0);
      const file = join(home, 'pcg', 'packctl.json');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(JSON.parse(readFileSync(file, 'utf8')).registries[plain.url].password, 'reader-secret');
      expectExit(await runPackctl(['ls', '--json'], { configHome: home }), 0);
      expectExit(await runPackctl(['rm', 'x:1.0.0'], { configHome: home }), 1, 'PCG_ERR_FORBIDDEN');
    } finally {
      await plain.close();
    }
  });

  it('builds, pushes (validating first), lists, pulls byte-identical, tags and removes', async () => {
    const zip = join(work.path, 'hello.zip');
    const built = await run('build', 'hello-addon', FIXTURE_DIR, '-o', zip);
    expectExit(built, 0);
    const digest = /sha256:[0-9a-f]{64}/.exec(built.stdout)![0];
    expectExit(await run('build', 'other-name', FIXTURE_DIR), 1, 'PCG_ERR_PACK_MISMATCH');

    const pushed = await run('push', zip, '--message', 'first release');
    expectExit(pushed, 0);
    assert.match(pushed.stdout, new RegExp(`^pushed hello-addon:1\\.2\\.3 ${digest} tags: 1\\.2\\.x, 1\\.x\\n$`));
    assert.match(pushed.stderr, /^pushing hello-addon:1\.2\.3 \(\d+ bytes/, 'plain lines off a terminal');
    assert.match((await run('push', zip)).stdout, /^unchanged hello-addon:1\.2\.3/);

    const next = join(work.path, 'next');
    cpSync(FIXTURE_DIR, next, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(next, 'pack.json'), 'utf8'));
    writeFileSync(join(next, 'pack.json'), JSON.stringify({ ...manifest, version: '1.3.0' }));
    expectExit(await run('push', next), 0);
    writeFileSync(join(next, 'values.yaml'), readFileSync(join(next, 'values.yaml'), 'utf8') + '# changed\n');
    expectExit(await run('push', next), 1, 'PCG_ERR_CONFLICT');
    expectExit(await run('push', next, '--force'), 0);

    server.asked.length = 0;
    writeFileSync(join(next, 'values.yaml'), 'replicas: zero\n');
    const refused = await run('push', next);
    expectExit(refused, 1, 'PCG_ERR_PACK_INVALID');
    assert.match(refused.stderr, /values\.yaml/);
    assert.deepEqual(server.asked, [], 'an invalid pack never reaches the registry');

    const listed = await run('ls', '--json');
    expectExit(listed, 0);
    const items = JSON.parse(listed.stdout) as { name: string; version: string; tags: string[]; message: string | null; digest: string }[];
    assert.deepEqual(items.map((i) => `${i.name}:${i.version}`), ['hello-addon:1.2.3', 'hello-addon:1.3.0']);
    assert.deepEqual(items[1]!.tags, ['1.3.x', '1.x']);
    assert.equal(items[0]!.message, 'first release');
    assert.match((await run('ls', '--layer', 'addon', '--name', 'hello-addon')).stdout, /^NAME\s+VERSION\s+LAYER.*\nhello-addon\s+1\.2\.3\s+addon/);
    assert.equal((await run('ls', '--layer', 'os')).stdout.trim().split('\n').length, 1, 'only the header');

    const out = join(work.path, 'pulled');
    expectExit(await run('pull', 'hello-addon:1.2.3', '-o', out), 0);
    assert.ok(readFileSync(join(out, 'hello-addon-1.2.3.zip')).equals(readFileSync(zip)), 'pulled bytes are the pushed bytes');
    assert.match((await run('pull', 'hello-addon', '-o', out)).stdout, /^pulled hello-addon:1\.3\.0 /);
    assert.match((await run('pull', `hello-addon@${digest}`, '-o', out)).stdout, /^pulled hello-addon:1\.2\.3 /);
    expectExit(await run('pull', 'hello-addon:9.9.9', '-o', out), 1, 'PCG_ERR_NOT_FOUND');

    expectExit(await run('tag', 'add', 'hello-addon:1.2.3', '1.2', '--group', 'lts'), 0);
    assert.match((await run('pull', 'hello-addon:lts__1.2', '-o', out)).stdout, /^pulled hello-addon:1\.2\.3 /);
    expectExit(await run('tag', 'add', 'hello-addon:1.2.3', '1.x'), 1, 'PCG_ERR_PACK_TAG_RESERVED');
    expectExit(await run('tag', 'delete', 'hello-addon', '1.x'), 1, 'PCG_ERR_PACK_TAG_RESERVED');
    expectExit(await run('tag', 'delete', 'hello-addon', '1.2', '--group', 'lts'), 0);
    expectExit(await run('tag', 'delete', 'hello-addon', 'lts__1.2'), 1, 'PCG_ERR_NOT_FOUND');

    expectExit(await run('rm', 'hello-addon:1.3.0'), 0);
    const after = JSON.parse((await run('ls', '--json')).stdout) as { version: string; tags: string[] }[];
    assert.deepEqual(after.map((i) => [i.version, i.tags]), [['1.2.3', ['1.2.x', '1.x']]]);
    expectExit(await run('rm', 'hello-addon:1.3.0'), 1, 'PCG_ERR_NOT_FOUND');
  });

  it('exits 2 on usage errors and 0 for version and help', async () => {
    expectExit(await run('rm'), 2);
    expectExit(await run('pull', 'Not A Name'), 2, 'PCG_ERR_CONFIG_INVALID');
    expectExit(await run('push', join(work.path, 'missing')), 2, 'PCG_ERR_CONFIG_INVALID');
    expectExit(await run('frobnicate'), 2);
    const version = await run('version');
    expectExit(version, 0);
    assert.match(version.stdout, /^packctl \d+\.\d+\.\d+\n$/);
    expectExit(await run('help', 'tag', 'add'), 0);
    expectExit(await run('ls', '--registry', 'https://127.0.0.1:1', '--ca-file', server.caFile), 1, 'PCG_ERR_REGISTRY_UNREACHABLE');
    // Verification is skipped only when asked: the same call reaches the API (401) with --insecure only.
    const fresh = { configHome: join(work.path, 'fresh') };
    expectExit(await runPackctl(['ls', '--registry', server.url], fresh), 1, 'PCG_ERR_TLS_UNTRUSTED');
    expectExit(await runPackctl(['ls', '--registry', server.url, '--insecure'], fresh), 1, 'PCG_ERR_UNAUTHENTICATED');
  });

  it('draws a progress bar on a terminal and nothing elsewhere', async () => {
    const draw = async (isTTY: boolean) => {
      let text = '';
      const out = Object.assign(new Writable({ write(chunk: Buffer, _e, done) { text += chunk.toString(); done(); } }), { isTTY }) as unknown as NodeJS.WriteStream;
      await pipeline(Readable.from([Buffer.alloc(3 * 1048576)]), progressBar(3 * 1048576, 'pushing x:1.0.0', { out, intervalMs: 0 }), new Writable({ write(_c, _e, done) { done(); } }));
      return text;
    };
    assert.match(await draw(true), /\rpushing x:1\.0\.0 \[#{30}\] 100%  3\.0\/3\.0 MiB\n$/);
    assert.equal(await draw(false), '');
  });
});
