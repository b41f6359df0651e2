import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { layoutBlob, layoutManifestDigest, writeOciLayout } from '../support/oci-layout.js';
import { REGISTRY_ADMIN, startOciRegistry, type OciRegistryFixture } from '../support/oci-registry-fixture.js';
import { tempDir } from '../support/temp-dir.js';

const run = promisify(execFile);

/**
 * Interop with a real client: Debian's skopeo copies an OCI image into the embedded registry and
 * back out over the bearer-token flow, trusting the gateway's CA (no --tls-verify=false).
 */
describe('registry: skopeo interop (Debian skopeo)', function () {
  this.timeout(120_000);
  let fx: OciRegistryFixture;
  const work = tempDir('registry-skopeo');
  let host: string;
  let common: string[];
  const certs = join(work.path, 'certs');

  before(async () => {
    fx = await startOciRegistry('registry-skopeo-gw');
    host = new URL(fx.server.url).host;
    mkdirSync(certs);
    // containers/image trusts every *.crt of a cert dir as a CA.
    writeFileSync(join(certs, 'ca.crt'), fx.server.caPem);
    const policy = join(work.path, 'policy.json');
    writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    common = ['--policy', policy];
  });
  after(async () => {
    await fx.close();
    work.remove();
  });

  const skopeo = async (args: string[]): Promise<string> => {
    const env = { ...process.env, HOME: work.path, REGISTRY_AUTH_FILE: join(work.path, 'auth.json') };
    try {
      return (await run('skopeo', args, { env, maxBuffer: 16 * 1024 * 1024 })).stdout;
    } catch (err) {
      const { stderr } = err as { stderr?: string };
      throw new Error(`skopeo ${args.filter((a) => !a.includes(REGISTRY_ADMIN.password)).join(' ')} failed: ${stderr ?? String(err)}`);
    }
  };
  const creds = `${REGISTRY_ADMIN.user}:${REGISTRY_ADMIN.password}`;

  it('copies an OCI image in (two tags) and out again byte-identical; lists its tags; a node read token pulls it', async () => {
    const src = join(work.path, 'src');
    const image = writeOciLayout(src, 'v1', 'hello from the gateway registry\n');
    for (const tag of ['v1', '1.0.0']) {
      await skopeo(['copy', ...common, '--preserve-digests', '--dest-cert-dir', certs, '--dest-creds', creds, `oci:${src}:v1`, `docker://${host}/library/hello:${tag}`]);
    }
    const tags = JSON.parse(await skopeo(['list-tags', '--cert-dir', certs, '--creds', creds, `docker://${host}/library/hello`])) as { Repository: string; Tags: string[] };
    assert.deepEqual(tags, { Repository: `${host}/library/hello`, Tags: ['1.0.0', 'v1'] });

    const inspected = JSON.parse(await skopeo(['inspect', '--cert-dir', certs, '--creds', creds, `docker://${host}/library/hello:1.0.0`])) as { Digest: string };
    assert.equal(inspected.Digest, image.manifestDigest);

    const dst = join(work.path, 'dst');
    await skopeo(['copy', ...common, '--preserve-digests', '--src-cert-dir', certs, '--src-creds', creds, `docker://${host}/library/hello:v1`, `oci:${dst}:v1`]);
    assert.equal(layoutManifestDigest(dst, 'v1'), image.manifestDigest);
    for (const digest of [image.manifestDigest, ...image.blobDigests]) assert.deepEqual(layoutBlob(dst, digest), layoutBlob(src, digest), digest);

    // A cluster node: its pack read token as the password, pull only, and only its cluster's packs.
    await skopeo(['copy', ...common, '--preserve-digests', '--dest-cert-dir', certs, '--dest-creds', creds, `oci:${src}:v1`, `docker://${host}/packs/hello:1.0.0`]);
    await fx.grantPacks('cluster-7', [{ name: 'hello', version: '1.0.0' }]);
    const nodeCreds = `node:${fx.tokens.packReadTokenFor('cluster-7')}`;
    const viaNode = join(work.path, 'node');
    await skopeo(['copy', ...common, '--preserve-digests', '--src-cert-dir', certs, '--src-creds', nodeCreds, `docker://${host}/packs/hello:1.0.0`, `oci:${viaNode}:pulled`]);
    assert.equal(layoutManifestDigest(viaNode, 'pulled'), image.manifestDigest);
    await assert.rejects(skopeo(['copy', ...common, '--src-cert-dir', certs, '--src-creds', nodeCreds, `docker://${host}/library/hello:1.0.0`, `oci:${viaNode}:other`]), /denied|unauthorized/i);
    await assert.rejects(skopeo(['copy', ...common, '--dest-cert-dir', certs, '--dest-creds', nodeCreds, `oci:${src}:v1`, `docker://${host}/library/hello:node`]), /denied|unauthorized/i);
  });

  it('skopeo delete removes the manifest by digest, and its tags with it', async () => {
    await skopeo(['delete', '--cert-dir', certs, '--creds', creds, `docker://${host}/library/hello:v1`]);
    const tags = JSON.parse(await skopeo(['list-tags', '--cert-dir', certs, '--creds', creds, `docker://${host}/library/hello`])) as { Tags: string[] };
    assert.deepEqual(tags.Tags, []);
    await assert.rejects(skopeo(['inspect', '--cert-dir', certs, '--creds', creds, `docker://${host}/library/hello:1.0.0`]), /manifest unknown/i);
  });
});
