/**
 * The gateway's identity in its state dir. Private keys are made here, written 0600 and never
 * leave the directory. Pairing writes every file through a temporary name and renames
 * identity.json last: it is the marker of a paired gateway, so a crash or a refused pairing
 * leaves the state dir as it was.
 *
 *   identity.json   ids, relay URL, CA pin, the relay's pinned Ed25519 key
 *   sign.key        Ed25519 private key (handshake signatures, TLS client key)
 *   box.key         X25519 private key
 *   client.crt      short-lived client certificate, renewed over the tunnel
 *   relay-ca.crt    the relay CA, trust anchor for reconnects
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { writeFileAtomic } from '../../proto/atomic-file.js';
import { join } from 'node:path';
import { PcgError } from '../../proto/errors.js';
import { generateKeyPair, keyPairFromPem, privateKeyToPem, type KeyPair } from '../../proto/keys.js';

export interface IdentityRecord {
  readonly gatewayId: string;
  readonly tenantId: string;
  readonly cloudAccountId: string;
  readonly relayUrl: string;
  readonly caPin: string | null;
  /** The relay's Ed25519 public key, base64, pinned at pairing. */
  readonly relaySignPub: string;
  readonly pairedAt: number;
}

export interface GatewayIdentity extends IdentityRecord {
  readonly signKey: KeyPair;
  readonly boxKey: KeyPair;
  readonly clientCertPem: string;
  readonly relayCaPem: string;
}

/** Fresh keys, held in memory until a pairing succeeds. */
export interface NewKeys {
  readonly signKey: KeyPair;
  readonly boxKey: KeyPair;
}

const FILES = { identity: 'identity.json', sign: 'sign.key', box: 'box.key', cert: 'client.crt', ca: 'relay-ca.crt' } as const;

export class IdentityStore {
  constructor(readonly stateDir: string) {}

  get isPaired(): boolean {
    return existsSync(join(this.stateDir, FILES.identity));
  }

  static newKeys(): NewKeys {
    return { signKey: generateKeyPair('Ed25519'), boxKey: generateKeyPair('X25519') };
  }

  assertNotPaired(): void {
    if (this.isPaired) throw new PcgError('PCG_ERR_ALREADY_PAIRED', `${this.stateDir} is already paired`);
  }

  async savePairing(record: IdentityRecord, keys: NewKeys, clientCertPem: string, relayCaPem: string): Promise<void> {
    this.assertNotPaired();
    try {
      await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
      await this.#write(FILES.sign, privateKeyToPem(keys.signKey.privateKey));
      await this.#write(FILES.box, privateKeyToPem(keys.boxKey.privateKey));
      await this.#write(FILES.cert, clientCertPem);
      await this.#write(FILES.ca, relayCaPem);
      await this.#write(FILES.identity, `${JSON.stringify(record, null, 2)}\n`);
    } catch (err) {
      throw new PcgError('PCG_ERR_STATE_DIR', `cannot write the identity to ${this.stateDir}`, { cause: err });
    }
  }

  async saveClientCertificate(pem: string): Promise<void> {
    await this.#write(FILES.cert, pem);
  }

  async load(): Promise<GatewayIdentity> {
    if (!this.isPaired) throw new PcgError('PCG_ERR_NOT_PAIRED', `${this.stateDir} holds no paired gateway`);
    try {
      for (const file of [FILES.sign, FILES.box]) {
        const mode = (await stat(join(this.stateDir, file))).mode & 0o777;
        if (mode & 0o077) throw new PcgError('PCG_ERR_STATE_DIR', `${join(this.stateDir, file)} has mode ${mode.toString(8)}; it must be 0600`);
      }
      const record = JSON.parse(await readFile(join(this.stateDir, FILES.identity), 'utf8')) as IdentityRecord;
      return {
        ...record,
        signKey: keyPairFromPem(await readFile(join(this.stateDir, FILES.sign), 'utf8')),
        boxKey: keyPairFromPem(await readFile(join(this.stateDir, FILES.box), 'utf8')),
        clientCertPem: await readFile(join(this.stateDir, FILES.cert), 'utf8'),
        relayCaPem: await readFile(join(this.stateDir, FILES.ca), 'utf8'),
      };
    } catch (err) {
      if (err instanceof PcgError) throw err;
      throw new PcgError('PCG_ERR_STATE_DIR', `cannot read the identity in ${this.stateDir}`, { cause: err });
    }
  }

  async #write(name: string, data: string): Promise<void> {
    await writeFileAtomic(join(this.stateDir, name), data, 0o600);
  }
}
