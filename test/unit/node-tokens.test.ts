import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_TOKEN_KEY_FILE, NodeTokens } from '../../gateway/nodes/node-tokens.js';
import { CLUSTER_A, CLUSTER_B } from '../support/job-fixtures.js';
import { tempDir } from '../support/temp-dir.js';

describe('NodeTokens', () => {
  const dir = tempDir('node-tokens');
  after(() => dir.remove());

  it('derives a stable, self-describing token per (cluster, node) from a 0600 key kept in the state dir', async () => {
    const tokens = await NodeTokens.load(dir.path);
    const token = tokens.tokenFor(CLUSTER_A, 'worker-3');
    assert.match(token, new RegExp(`^${CLUSTER_A}\\.worker-3\\.[A-Za-z0-9_-]{43}$`));
    assert.equal(tokens.tokenFor(CLUSTER_A, 'worker-3'), token, 'stable across calls');
    const again = await NodeTokens.load(dir.path);
    assert.equal(again.tokenFor(CLUSTER_A, 'worker-3'), token, 'stable across restarts');
    assert.equal(statSync(join(dir.path, NODE_TOKEN_KEY_FILE)).mode & 0o777, 0o600);
    assert.notEqual(tokens.tokenFor(CLUSTER_A, 'worker-4'), token);
    assert.notEqual(tokens.tokenFor(CLUSTER_B, 'worker-3').split('.')[2], token.split('.')[2]);
    assert.equal(JSON.stringify({ tokens }).includes(readFileSync(join(dir.path, NODE_TOKEN_KEY_FILE), 'utf8').trim()), false, 'the key never prints');
  });

  it('verifies its own tokens and names their node; anything else is undefined', async () => {
    const tokens = await NodeTokens.load(dir.path);
    const token = tokens.tokenFor(CLUSTER_A, 'cp-0');
    assert.deepEqual(tokens.verify(token), { clusterId: CLUSTER_A, node: 'cp-0' });
    assert.throws(() => tokens.tokenFor(CLUSTER_A, '.packs'), /node name \(DNS label\)/, 'no token for a pseudo node');
    const mac = token.split('.')[2]!;
    const flipped = `${mac.slice(0, -2)}${mac.at(-2) === 'A' ? 'B' : 'A'}${mac.at(-1)}`;
    for (const bad of [
      `${CLUSTER_A}.cp-1.${mac}`, `${CLUSTER_B}.cp-0.${mac}`, `${CLUSTER_A}.cp-0.${flipped}`, `${CLUSTER_A}.cp-0.${mac.slice(1)}`,
      `${CLUSTER_A}.cp-0`, '', '..', `${CLUSTER_A}..${mac}`, NodeTokens.fromKey(randomBytes(32)).tokenFor(CLUSTER_A, 'cp-0'),
    ]) assert.equal(tokens.verify(bad), undefined, bad);
  });

  it('pack read tokens: stable per cluster, verified as such, never valid as a node token (nor the reverse)', async () => {
    const tokens = await NodeTokens.load(dir.path);
    const pack = tokens.packReadTokenFor(CLUSTER_A);
    assert.match(pack, new RegExp(`^${CLUSTER_A}\\.[A-Za-z0-9_-]{43}$`));
    assert.equal((await NodeTokens.load(dir.path)).packReadTokenFor(CLUSTER_A), pack, 'stable across restarts');
    assert.equal(tokens.verifyPackToken(pack), CLUSTER_A);
    assert.notEqual(tokens.packReadTokenFor(CLUSTER_B), pack);
    assert.equal(tokens.verify(pack), undefined, 'a pack token is no phone-home');
    const mac = pack.split('.')[1]!;
    // Reshaped as a node token of any name, the pack MAC still proves nothing.
    for (const node of ['.packs', 'packs', 'cp-0', '']) assert.equal(tokens.verify(`${CLUSTER_A}.${node}.${mac}`), undefined, node);
    const nodeToken = tokens.tokenFor(CLUSTER_A, 'cp-0');
    assert.equal(tokens.verifyPackToken(nodeToken), undefined, 'a node token reads no packs');
    assert.equal(tokens.verifyPackToken(`${CLUSTER_A}.${nodeToken.split('.')[2]}`), undefined);
    assert.equal(tokens.verifyPackToken(`${CLUSTER_B}.${mac}`), undefined);
    assert.equal(NodeTokens.fromKey(randomBytes(32)).verifyPackToken(pack), undefined);
  });
});
