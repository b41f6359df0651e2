import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import { assembleOva } from '../../installer-ova/ovf/assemble-ova.js';
import { buildOvfDescriptor } from '../../installer-ova/ovf/ovf-descriptor.js';
import { openOvaEntry } from '../../installer-ova/ovf/open-ova-entry.js';
import { formatManifest, parseManifest } from '../../installer-ova/ovf/ova-manifest.js';
import { readOva } from '../../installer-ova/ovf/read-ova.js';
import { VerifiedEntryStream } from '../../installer-ova/ovf/verified-entry-stream.js';
import { PcgError } from '../../proto/errors.js';
import { tempDir } from '../support/temp-dir.js';

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
const HINT = '. The OVA is damaged or altered (the file named); download it again from the portal.';

/** A tar of exactly these entries, for OVAs assembleOva would never write. */
async function writeTar(path: string, entries: ReadonlyArray<[string, Buffer | string]>): Promise<void> {
  const tar = pack();
  const done = pipeline(tar, createWriteStream(path));
  for (const [name, content] of entries) tar.entry({ name }, content);
  tar.finalize();
  await done;
}

async function invalid(path: string): Promise<string> {
  const err = await readOva(path).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof PcgError, `readOva(${path}) should fail`);
  assert.equal(err.code, 'PCG_ERR_OVA_INVALID');
  return err.message;
}

describe('OVA assembly and reading (assembleOva, readOva)', function () {
  this.timeout(60_000);
  const dir = tempDir('ova-archive');
  const vmdk = join(dir.path, 'disk.vmdk');
  const vmdkBytes = randomBytes(300_000);
  let ova: string;
  after(() => dir.remove());

  before(async () => {
    writeFileSync(vmdk, vmdkBytes);
    ({ ovaPath: ova } = await assembleOva({ vmdkPath: vmdk, capacityBytes: 1 << 30, outDir: dir.path, name: 'pcg-installer', version: '0.1.0' }));
  });

  it('writes name.ovf, name.mf (SHA256 lines as ovftool writes them) and name.ova: POSIX ustar, ovf then mf then vmdk, owner 0, mtime 0', () => {
    const ovf = readFileSync(join(dir.path, 'pcg-installer.ovf'));
    const mf = readFileSync(join(dir.path, 'pcg-installer.mf'), 'utf8');
    assert.equal(mf, `SHA256(pcg-installer.ovf)= ${sha256(ovf)}\nSHA256(pcg-installer-disk1.vmdk)= ${sha256(vmdkBytes)}\n`);
    assert.equal(ovf.toString(), buildOvfDescriptor({ name: 'pcg-installer', version: '0.1.0', diskFile: 'pcg-installer-disk1.vmdk', diskFileBytes: vmdkBytes.length, diskCapacityBytes: 1 << 30 }));
    const bytes = readFileSync(ova);
    const pad = (n: number) => Math.ceil(n / 512) * 512;
    const field = (at: number, offset: number, length: number) => bytes.subarray(at + offset, at + offset + length).toString('latin1');
    let at = 0;
    const seen = [];
    for (const content of [ovf, Buffer.from(mf), vmdkBytes]) {
      seen.push({
        name: field(at, 0, 100).replace(/\0+$/, ''), mode: field(at, 100, 8), uid: field(at, 108, 8), gid: field(at, 116, 8),
        size: parseInt(field(at, 124, 12), 8), mtime: field(at, 136, 12), type: field(at, 156, 1), magic: field(at, 257, 6), version: field(at, 263, 2),
        uname: field(at, 265, 32).replace(/\0+$/, ''),
      });
      assert.deepEqual(bytes.subarray(at + 512, at + 512 + content.length), content);
      at += 512 + pad(content.length);
    }
    const header = { mode: '000644 \0', uid: '000000 \0', gid: '000000 \0', mtime: '00000000000 ', type: '0', magic: 'ustar\0', version: '00', uname: '' };
    assert.deepEqual(seen, [
      { ...header, name: 'pcg-installer.ovf', size: ovf.length },
      { ...header, name: 'pcg-installer.mf', size: mf.length },
      { ...header, name: 'pcg-installer-disk1.vmdk', size: vmdkBytes.length },
    ]);
    assert.deepEqual(bytes.subarray(at), Buffer.alloc(1024), 'two zero blocks end the archive');
  });

  it('is reproducible: the same inputs give the same bytes', async () => {
    const other = tempDir('ova-again');
    try {
      const again = await assembleOva({ vmdkPath: vmdk, capacityBytes: 1 << 30, outDir: other.path, name: 'pcg-installer', version: '0.1.0' });
      assert.equal(sha256(readFileSync(again.ovaPath)), sha256(readFileSync(ova)));
    } finally {
      other.remove();
    }
  });

  it('readOva lists and verifies it; openOvaEntry streams the vmdk out of the tar unchanged', async () => {
    const contents = await readOva(ova);
    assert.deepEqual(contents.files.map((f) => [f.name, f.size]), [['pcg-installer.ovf', contents.descriptor.length], ['pcg-installer.mf', 191], ['pcg-installer-disk1.vmdk', vmdkBytes.length]]);
    assert.equal(contents.files[2]!.digest, sha256(vmdkBytes));
    assert.deepEqual(contents.ovf.references, [{ id: 'file1', href: 'pcg-installer-disk1.vmdk', size: vmdkBytes.length }]);
    const { stream, size } = await openOvaEntry(ova, 'pcg-installer-disk1.vmdk');
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    assert.equal(size, vmdkBytes.length);
    assert.deepEqual(Buffer.concat(chunks), vmdkBytes);
  });

  it('streams a large vmdk: 256 MiB through assembleOva and readOva, RSS growing by under 96 MiB', async () => {
    const big = join(dir.path, 'big.vmdk');
    writeFileSync(big, 'x');
    truncateSync(big, 256 * 1048576);
    const base = process.memoryUsage();
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss - base.rss);
    }, 5);
    try {
      const out = tempDir('ova-big');
      try {
        const made = await assembleOva({ vmdkPath: big, capacityBytes: 1 << 30, outDir: out.path, name: 'big', version: '1' });
        const read = await readOva(made.ovaPath);
        assert.equal(read.files[2]!.size, 256 * 1048576);
      } finally {
        out.remove();
      }
    } finally {
      clearInterval(sampler);
    }
    if (process.env.PCG_OVA_MEMORY) process.stdout.write(`      peak RSS growth ${(peak / 1048576).toFixed(1)} MiB\n`);
    assert.ok(peak < 96 * 1048576, `RSS grew by ${(peak / 1048576).toFixed(0)} MiB`);
  });

  it('a byte changed in the vmdk: PCG_ERR_OVA_INVALID naming the vmdk and both digests', async () => {
    const bytes = readFileSync(ova);
    const at = bytes.indexOf(vmdkBytes.subarray(0, 32)) + 1000;
    bytes.writeUInt8(bytes.readUInt8(at) ^ 0x80, at);
    const tampered = join(dir.path, 'tampered.ova');
    writeFileSync(tampered, bytes);
    const changed = Buffer.from(vmdkBytes);
    changed.writeUInt8(changed.readUInt8(1000) ^ 0x80, 1000);
    assert.equal(await invalid(tampered), `tampered.ova: pcg-installer-disk1.vmdk: SHA256 differs from the manifest (manifest ${sha256(vmdkBytes)}, file ${sha256(changed)})${HINT}`);
  });

  describe('refuses OVAs that are not what they claim', () => {
    const ovf = buildOvfDescriptor({ name: 'a', version: '1', diskFile: 'a.vmdk', diskFileBytes: 5, diskCapacityBytes: 1024 });
    const disk = 'hello';
    const mf = formatManifest([{ file: 'a.ovf', sha256: sha256(ovf) }, { file: 'a.vmdk', sha256: sha256(disk) }]);
    const cases: Array<[string, Array<[string, string]>, string]> = [
      ['the manifest first', [['a.mf', mf], ['a.ovf', ovf], ['a.vmdk', disk]], 'the first file is a.mf, not the .ovf descriptor'],
      ['no manifest', [['a.ovf', ovf], ['a.vmdk', disk]], 'the second file is a.vmdk, not the .mf manifest'],
      ['the descriptor changed after the manifest was made', [['a.ovf', ovf.replace('<Vendor>PCG', '<Vendor>PCX')], ['a.mf', mf], ['a.vmdk', disk]], `a.ovf: SHA256 differs from the manifest (manifest ${sha256(ovf)}, file ${sha256(ovf.replace('<Vendor>PCG', '<Vendor>PCX'))})`],
      ['a file named in the manifest is missing', [['a.ovf', ovf], ['a.mf', mf]], 'a.vmdk is in the manifest but not in the OVA'],
      ['a file the manifest does not list', [['a.ovf', ovf], ['a.mf', mf], ['a.vmdk', disk], ['extra.iso', 'x']], 'extra.iso is not in the manifest a.mf'],
      ['the References size differs', [['a.ovf', ovf.replace('ovf:size="5"', 'ovf:size="6"')], ['a.mf', formatManifest([{ file: 'a.ovf', sha256: sha256(ovf.replace('ovf:size="5"', 'ovf:size="6"')) }, { file: 'a.vmdk', sha256: sha256(disk) }])], ['a.vmdk', disk]], 'a.vmdk is 5 bytes; the descriptor\'s References say 6'],
      ['a manifest line that is not one', [['a.ovf', ovf], ['a.mf', `${mf}MD5(a.vmdk)= 00\n`], ['a.vmdk', disk]], 'a.mf line 3: not an "SHA256(file)= hex" line'],
      ['a path instead of a file name', [['a.ovf', ovf], ['a.mf', mf], ['../a.vmdk', disk]], '../a.vmdk: a path; an OVA holds files at its top level only'],
      ['not a descriptor', [['a.ovf', 'just text'], ['a.mf', mf], ['a.vmdk', disk]], 'a.ovf is not an OVF descriptor: no <Envelope> element'],
    ];
    for (const [what, entries, message] of cases) {
      it(what, async () => {
        const path = join(dir.path, `${what.replace(/\W+/g, '-')}.ova`);
        await writeTar(path, entries);
        assert.equal(await invalid(path), `${path.split('/').pop()}: ${message}${HINT}`);
      });
    }

    it('a truncated OVA names the file it was reading', async () => {
      const cut = join(dir.path, 'cut.ova');
      writeFileSync(cut, readFileSync(ova).subarray(0, 4096 + 100_000));
      assert.match(await invalid(cut), /^cut\.ova: unreadable at pcg-installer-disk1\.vmdk: /);
    });

    it('not a tar at all', async () => {
      const junk = join(dir.path, 'junk.ova');
      writeFileSync(junk, randomBytes(2048));
      assert.match(await invalid(junk), /^junk\.ova: not a tar archive: /);
    });
  });

  it('parseManifest: accepts SHA1/SHA256/SHA512 lines (older ovftool), refuses wrong lengths and repeated files', () => {
    assert.deepEqual(parseManifest(`SHA1(a.ovf)= ${'A'.repeat(40)}\r\nSHA256(b.vmdk)=${'b'.repeat(64)}\n\n`), {
      entries: [{ file: 'a.ovf', algorithm: 'SHA1', digest: 'a'.repeat(40) }, { file: 'b.vmdk', algorithm: 'SHA256', digest: 'b'.repeat(64) }],
    });
    assert.deepEqual(parseManifest(`SHA256(a.ovf)= ${'a'.repeat(40)}\n`), { badLine: 1, reason: 'SHA256 digest of a.ovf has 40 hex digits, not 64' });
    assert.deepEqual(parseManifest(`SHA1(a)= ${'a'.repeat(40)}\nSHA1(a)= ${'a'.repeat(40)}\n`), { badLine: 2, reason: 'a is listed twice' });
  });

  describe('VerifiedEntryStream: the upload passes on only the bytes readOva verified', () => {
    const data = randomBytes(200_000);
    const entry = { ova: 'x.ova', file: 'x.vmdk', algorithm: 'SHA256', digest: sha256(data), size: data.length };
    /** Feeds `input` in 64 KiB chunks; what came out, and the error the stream ended with. */
    async function through(stream: VerifiedEntryStream, input: Buffer): Promise<{ out: Buffer; err: unknown }> {
      const chunks = Array.from({ length: Math.ceil(input.length / 65_536) }, (_, i) => input.subarray(i * 65_536, (i + 1) * 65_536));
      const out: Buffer[] = [];
      const err = await pipeline(Readable.from(chunks), stream, new Writable({
        write(chunk: Buffer, _encoding, done) {
          out.push(chunk);
          done();
        },
      })).then(() => undefined, (e: unknown) => e);
      return { out: Buffer.concat(out), err };
    }

    it('the verified bytes pass unchanged and it says so', async () => {
      const stream = new VerifiedEntryStream(entry);
      const { out, err } = await through(stream, data);
      assert.equal(err, undefined);
      assert.deepEqual(out, data);
      assert.deepEqual([stream.matched, stream.failure], [true, undefined]);
    });

    it('one byte differs: PCG_ERR_OVA_INVALID with both digests, and the chunk that would complete the file is held back', async () => {
      const changed = Buffer.from(data);
      changed.writeUInt8(changed.readUInt8(1000) ^ 0x01, 1000);
      const stream = new VerifiedEntryStream(entry);
      const { out, err } = await through(stream, changed);
      assert.ok(err instanceof PcgError);
      assert.equal(err.code, 'PCG_ERR_OVA_INVALID');
      assert.equal(err.message, `x.ova: x.vmdk changed after it was verified (read for the upload: SHA256 ${sha256(changed)}, verified ${sha256(data)}); the import was aborted${HINT}`);
      assert.equal(out.length, 3 * 65_536, 'the last 3392 bytes are not passed on');
      assert.deepEqual([stream.matched, stream.failure], [false, err]);
    });

    it('shorter or longer than verified: refused', async () => {
      const short = await through(new VerifiedEntryStream(entry), data.subarray(0, 150_000));
      assert.equal((short.err as Error).message, `x.ova: x.vmdk changed after it was verified (read for the upload: 150000 of the 200000 bytes verified); the import was aborted${HINT}`);
      const long = await through(new VerifiedEntryStream(entry), Buffer.concat([data, Buffer.from('!')]));
      assert.equal((long.err as Error).message, `x.ova: x.vmdk changed after it was verified (read for the upload: more than the 200000 bytes verified); the import was aborted${HINT}`);
      assert.ok(long.out.length < data.length);
    });

    it('SHA1 manifests (older ovftool) are checked with SHA1; an empty file too', async () => {
      const sha1 = createHash('sha1').update(data).digest('hex');
      assert.equal((await through(new VerifiedEntryStream({ ...entry, algorithm: 'SHA1', digest: sha1 }), data)).err, undefined);
      const empty = new VerifiedEntryStream({ ...entry, size: 0, digest: sha256('') });
      assert.equal((await through(empty, Buffer.alloc(0))).err, undefined);
      assert.equal(empty.matched, true);
      const wrong = await through(new VerifiedEntryStream({ ...entry, size: 0, digest: sha256('x') }), Buffer.alloc(0));
      assert.equal((wrong.err as PcgError).code, 'PCG_ERR_OVA_INVALID');
    });
  });
});
