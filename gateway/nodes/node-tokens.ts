import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../proto/atomic-file.js';
import { Secret } from '../../proto/secret.js';

/** The HMAC key's file in the state dir (0600). */
export const NODE_TOKEN_KEY_FILE = 'node-token.key';

/** What a valid token names. */
export interface NodeIdentity {
  readonly clusterId: string;
  readonly node: string;
}

/** What a node name may be (NodeSpec's DnsLabel): a pseudo node such as `.packs` never gets a token. */
const NODE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Per-node phone-home tokens: `<clusterId>.<node>.<HMAC-SHA256(key, clusterId "\n" node), base64url>`.
 * Derived, not stored: the same (cluster, node) always gets the same token, so a retried clone
 * carries the token its userdata already had, and nothing needs journaling. Self-describing, so a
 * request names its node; the MAC proves the gateway issued it (checked in constant time).
 *
 * Per-cluster pack registry read tokens are `<clusterId>.<HMAC-SHA256(key, "\0pack-read\n" clusterId)>`:
 * every node of a cluster holds one, so it must never pass as a node's phone-home. Their MAC input
 * starts with a NUL (a cluster id never does), so no node MAC equals a pack MAC, and their shape
 * (one dot) is not a node token's (two). A pack token proves the cluster only; what it may pull is
 * the registry's decision: the repositories of that cluster's packs (gateway/registry/cluster-pack-scopes.ts).
 */
export class NodeTokens {
  readonly #key: Secret<Buffer>;

  private constructor(key: Buffer) {
    this.#key = new Secret(key);
  }

  /** Loads the key from the state dir, making it (0600) on first start. */
  static async load(stateDir: string): Promise<NodeTokens> {
    const path = join(stateDir, NODE_TOKEN_KEY_FILE);
    if (!existsSync(path)) await writeFileAtomic(path, `${randomBytes(32).toString('hex')}\n`, 0o600);
    return new NodeTokens(Buffer.from((await readFile(path, 'utf8')).trim(), 'hex'));
  }

  /** For tests and callers that hold the key already. */
  static fromKey(key: Buffer): NodeTokens {
    return new NodeTokens(Buffer.from(key));
  }

  tokenFor(clusterId: string, node: string): string {
    // The cluster id (an Id: no dots) ends at the first dot and the MAC (base64url: no dots) starts after the last.
    if (!validClusterId(clusterId) || !NODE_NAME.test(node)) throw new Error(`a node token needs a cluster id without dots and a node name (DNS label): ${clusterId}/${node}`);
    return `${clusterId}.${node}.${this.#mac(clusterId, node).toString('base64url')}`;
  }

  /** The cluster's pack registry read token (see the class comment: never a phone-home token). */
  packReadTokenFor(clusterId: string): string {
    if (!validClusterId(clusterId)) throw new Error(`a pack token needs a cluster id without dots: ${clusterId}`);
    return `${clusterId}.${this.#packMac(clusterId).toString('base64url')}`;
  }

  /** The cluster a pack read token is for, or undefined (a node token, malformed, or a foreign MAC). */
  verifyPackToken(token: string): string | undefined {
    const dot = token.indexOf('.');
    if (dot <= 0 || token.indexOf('.', dot + 1) !== -1) return undefined;
    const clusterId = token.slice(0, dot);
    const mac = token.slice(dot + 1);
    if (!/^[A-Za-z0-9_-]{43}$/.test(mac)) return undefined;
    return sameMac(Buffer.from(mac, 'base64url'), this.#packMac(clusterId)) ? clusterId : undefined;
  }

  /** The node a token names, or undefined when it is malformed or its MAC does not match. */
  verify(token: string): NodeIdentity | undefined {
    const first = token.indexOf('.');
    const last = token.lastIndexOf('.');
    if (first <= 0 || last <= first + 1) return undefined;
    const clusterId = token.slice(0, first);
    const node = token.slice(first + 1, last);
    const mac = token.slice(last + 1);
    if (!NODE_NAME.test(node) || !/^[A-Za-z0-9_-]{43}$/.test(mac)) return undefined;
    return sameMac(Buffer.from(mac, 'base64url'), this.#mac(clusterId, node)) ? { clusterId, node } : undefined;
  }

  #mac(clusterId: string, node: string): Buffer {
    return createHmac('sha256', this.#key.reveal()).update(`${clusterId}\n${node}`).digest();
  }

  #packMac(clusterId: string): Buffer {
    return createHmac('sha256', this.#key.reveal()).update(`\0pack-read\n${clusterId}`).digest();
  }
}

const validClusterId = (clusterId: string): boolean => clusterId !== '' && !clusterId.includes('.') && !clusterId.includes('\0');

/** Constant-time comparison of a MAC given and the one expected. */
const sameMac = (given: Buffer, expected: Buffer): boolean => given.length === expected.length && timingSafeEqual(given, expected);
