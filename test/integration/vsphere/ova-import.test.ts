import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { APPLIANCE_PROPERTIES } from '../../../installer-ova/appliance/appliance-properties.js';
import { assembleOva } from '../../../installer-ova/ovf/assemble-ova.js';
import { deployOva, type DeployEvent } from '../../../installer-ova/ovf/deploy-ova.js';
import { PcgError } from '../../../proto/errors.js';
import { findByInventoryPath } from '../../../gateway/vsphere/finder.js';
import { readInventory } from '../../../gateway/vsphere/inventory.js';
import { retrieveProperties, singleObjectSpec } from '../../../gateway/vsphere/property-collector.js';
import { text, toArray, xsiType, type MoRef } from '../../../gateway/vsphere/soap-xml.js';
import { VimSession } from '../../../gateway/vsphere/vim-session.js';
import { runCli } from '../../support/child.js';
import { makeStreamOptimizedVmdk, VcsimProxy } from '../../support/ova-fixture.js';
import { tempDir } from '../../support/temp-dir.js';
import { Vcsim } from '../../support/vcsim-fixture.js';
import { checkElementOrder, type RecordedRequest } from './vim-order-checker.js';

const INSTALLER_CLI = new URL('../../../installer-ova/cli.js', import.meta.url).pathname;
const SOURCES = new URL('../../../../gateway/vsphere/', import.meta.url);
/** The gateway files the OVF import added; every SOAP method they can send must be seen here. */
const IMPORT_SOURCES = ['ovf-import.ts', 'http-nfc-lease.ts', 'nfc-upload.ts'];

const GIVEN = { 'pcg.relayUrl': 'https://relay.example.test/', 'pcg.pairingCode': 'ABCD-EFGH-JKMN-PQRS', 'pcg.network': 'static', 'pcg.ip': '192.0.2.10' };
const HINT = '. The OVA is damaged or altered (the file named); download it again from the portal.';

interface VmView {
  readonly devices: Array<{ type: string; key: string; controllerKey: string }>;
  readonly extraConfig: Record<string, string>;
  readonly vAppConfig: unknown;
  readonly numCpu: number;
  readonly memoryMb: number;
  readonly guestId: string;
}

/**
 * `pcg-installer deploy` against real vcsim: the OVA is built by assembleOva from a real
 * streamOptimized vmdk, deployed by the CLI, and checked with the test's own vim queries.
 * A proxy in front of vcsim shows the bytes that reached its NFC endpoint and the SOAP methods.
 */
describe('OVA import into vSphere (pcg-installer deploy against vcsim)', function () {
  this.timeout(120_000);
  let vcsim: Vcsim;
  let proxy: VcsimProxy;
  let session: VimSession;
  const dir = tempDir('ova-import');
  let ovaPath: string;
  let vmdkBytes: Buffer;
  const passwordFile = join(dir.path, 'vcenter-password');
  /** The pairing code (a password property) goes in a file; the rest on the command line. */
  const propFile = join(dir.path, 'props');
  const props = [...Object.entries(GIVEN).filter(([k]) => k !== 'pcg.pairingCode').flatMap(([k, v]) => ['--prop', `${k}=${v}`]), '--prop-file', propFile];
  const recorded: RecordedRequest[] = [];

  before(async () => {
    vcsim = await Vcsim.start({ dc: 1, cluster: 1, clusterHost: 1, host: 1, vm: 1, template: 0 });
    proxy = await VcsimProxy.start(vcsim.url);
    session = await VimSession.login(vcsim.connection());
    const vmdk = makeStreamOptimizedVmdk(dir.path, 16, 2048);
    vmdkBytes = readFileSync(vmdk);
    ({ ovaPath } = await assembleOva({ vmdkPath: vmdk, capacityBytes: 16 * 1048576, outDir: dir.path, name: 'pcg-installer', version: '0.1.0' }));
    writeFileSync(passwordFile, vcsim.password, { mode: 0o600 });
    writeFileSync(propFile, `# secrets of the deploy\npcg.pairingCode=${GIVEN['pcg.pairingCode']}\n`, { mode: 0o600 });
  });
  after(async () => {
    await session?.close();
    await proxy?.stop();
    await vcsim?.stop();
    dir.remove();
  });

  const deploy = (ova: string, name: string, extra: string[] = []) => runCli(INSTALLER_CLI, ['deploy', ova,
    '--vcenter-host', proxy.host, '--vcenter-user', vcsim.user, '--vcenter-password-file', passwordFile, '--vcenter-thumbprint', proxy.thumbprint,
    '--datacenter', 'DC0', '--cluster', 'DC0_C0', '--network', 'VM Network', '--name', name, ...extra]);

  /** A copy of the OVA with one byte of its vmdk flipped, and the digests of the good and the altered vmdk. */
  function tamperedBytes(): { bytes: Buffer; good: string; bad: string } {
    const bytes = readFileSync(ovaPath);
    const pad = (n: number) => Math.ceil(n / 512) * 512;
    const ovfSize = statSync(join(dir.path, 'pcg-installer.ovf')).size;
    const mfSize = statSync(join(dir.path, 'pcg-installer.mf')).size;
    const vmdkAt = 512 + pad(ovfSize) + 512 + pad(mfSize) + 512;
    assert.deepEqual(bytes.subarray(vmdkAt, vmdkAt + 64), vmdkBytes.subarray(0, 64), 'the vmdk starts where computed');
    bytes.writeUInt8(bytes.readUInt8(vmdkAt + 70_000) ^ 0x01, vmdkAt + 70_000);
    return {
      bytes,
      good: createHash('sha256').update(vmdkBytes).digest('hex'),
      bad: createHash('sha256').update(bytes.subarray(vmdkAt, vmdkAt + vmdkBytes.length)).digest('hex'),
    };
  }

  const vmCount = async (): Promise<number> => (await readInventory(session)).counts.vm;

  async function viewVm(vm: MoRef): Promise<VmView> {
    const [content] = await retrieveProperties(session, [{ type: 'VirtualMachine', paths: ['config.hardware.device', 'config.extraConfig', 'config.vAppConfig', 'config.hardware.numCPU', 'config.hardware.memoryMB', 'config.guestId'] }], singleObjectSpec(vm));
    const p = content!.props;
    return {
      devices: toArray((p['config.hardware.device'] as { VirtualDevice?: unknown }).VirtualDevice as Array<Record<string, unknown>>)
        .map((d) => ({ type: xsiType(d) ?? '', key: text(d.key), controllerKey: text(d.controllerKey) })),
      extraConfig: Object.fromEntries(toArray((p['config.extraConfig'] as { OptionValue?: unknown }).OptionValue as Array<{ key: unknown; value: unknown }>).map((o) => [text(o.key), text(o.value)])),
      vAppConfig: p['config.vAppConfig'],
      numCpu: Number(text(p['config.hardware.numCPU'])), memoryMb: Number(text(p['config.hardware.memoryMB'])), guestId: text(p['config.guestId']),
    };
  }

  it('deploys the OVA: the VM has its name, the properties, pvscsi + vmxnet3 + IDE CD, and vcsim received the vmdk byte for byte', async () => {
    const before = await vmCount();
    const run = await deploy(ovaPath, 'pcg-installer-a', props);
    assert.equal(run.code, 0, run.stderr);
    const reported = /^deployed pcg-installer-a: VirtualMachine (vm-\d+), (\d+) bytes uploaded\n$/.exec(run.stdout);
    assert.ok(reported, run.stdout);
    assert.equal(Number(reported[2]), vmdkBytes.length);
    assert.ok(!run.stdout.includes(GIVEN['pcg.pairingCode']) && !run.stderr.includes(GIVEN['pcg.pairingCode']), 'the pairing code is never printed');
    assert.match(run.stderr, /^verified the OVA: 3 files, .* manifest and references match\nvCenter accepted the import spec\nimporting as vm-\d+; uploading the disk\n(upload \d+% \(\d+ of \d+ bytes\)\n)+$/);
    assert.ok(run.stderr.endsWith(`upload 100% (${vmdkBytes.length} of ${vmdkBytes.length} bytes)\n`));

    // Our own query, not the deploy's report.
    const vm = await findByInventoryPath(session, '/DC0/vm/pcg-installer-a');
    assert.deepEqual(vm, { type: 'VirtualMachine', value: reported[1] });
    assert.equal(await vmCount(), before + 1);
    const view = await viewVm(vm);
    assert.deepEqual([view.numCpu, view.memoryMb, view.guestId], [2, 2048, 'debian12_64Guest']);
    const pvscsi = view.devices.filter((d) => d.type === 'ParaVirtualSCSIController');
    const ide = view.devices.filter((d) => d.type === 'VirtualIDEController');
    assert.equal(pvscsi.length, 1);
    assert.deepEqual(view.devices.filter((d) => d.type === 'VirtualDisk').map((d) => d.controllerKey), [pvscsi[0]!.key]);
    assert.equal(view.devices.filter((d) => d.type === 'VirtualVmxnet3').length, 1);
    assert.deepEqual(view.devices.filter((d) => d.type === 'VirtualCdrom').map((d) => ide.some((c) => c.key === d.controllerKey)), [true]);
    assert.deepEqual(view.devices.filter((d) => /E1000|LsiLogic|BusLogic|Ahci/.test(d.type)), []);
    // Every property of the appliance with the value given, else its default. vcsim 0.24 keeps no
    // vApp config (ConfigSpec.vAppConfig is dropped): its CreateImportSpec turns the property
    // mapping into extraConfig, which is where the values can be seen here.
    const expected = Object.fromEntries(APPLIANCE_PROPERTIES.map((p) => [p.key, (GIVEN as Record<string, string>)[p.key] ?? p.defaultValue]));
    assert.deepEqual(Object.fromEntries(Object.entries(view.extraConfig).filter(([k]) => k.startsWith('pcg.'))), expected);
    assert.equal(view.vAppConfig, undefined);

    const nfc = proxy.requests.filter((r) => r.path.startsWith('/nfc/'));
    assert.deepEqual(nfc.map(({ method, contentType, bytes, sha256, status }) => ({ method, contentType, bytes, sha256, status })), [{
      method: 'POST', contentType: 'application/x-vnd.vmware-streamVmdk', bytes: vmdkBytes.length,
      sha256: createHash('sha256').update(vmdkBytes).digest('hex'), status: 200,
    }]);
    const methods = proxy.soapMethods;
    const order = ['CreateImportSpec', 'ImportVApp', 'HttpNfcLeaseComplete'].map((m) => methods.indexOf(m));
    assert.ok(order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1]!)), methods.join(' '));
    assert.ok(!methods.includes('HttpNfcLeaseAbort'));
  });

  it('a tampered OVA (one byte of the vmdk changed) is refused with PCG_ERR_OVA_INVALID naming the vmdk, before any vCenter call', async () => {
    const tampered = join(dir.path, 'tampered.ova');
    const { bytes, good, bad } = tamperedBytes();
    writeFileSync(tampered, bytes);
    const before = { vms: await vmCount(), requests: proxy.requests.length };

    const run = await deploy(tampered, 'pcg-installer-tampered', props);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, `PCG_ERR_OVA_INVALID: tampered.ova: pcg-installer-disk1.vmdk: SHA256 differs from the manifest (manifest ${good}, file ${bad}). The OVA is damaged or altered (the file named); download it again from the portal.\n`);
    assert.equal(run.stdout, '');
    assert.equal(proxy.requests.length, before.requests, 'no request reached vCenter');
    assert.equal(await vmCount(), before.vms);
    assert.equal(await findByInventoryPath(session, '/DC0/vm/pcg-installer-tampered'), undefined);
  });

  it('an upload cut half-way aborts the lease and leaves no VM', async () => {
    const before = await vmCount();
    const from = proxy.requests.length;
    proxy.cutNfcAfter = 256 * 1024;
    let run: Awaited<ReturnType<typeof deploy>>;
    try {
      run = await deploy(ovaPath, 'pcg-installer-cut', props);
    } finally {
      proxy.cutNfcAfter = undefined;
    }
    assert.equal(run.code, 1);
    assert.match(run.stderr, /\nimport aborted; the partly imported VM was removed\nPCG_ERR_VCENTER_UNREACHABLE: upload to 127\.0\.0\.1:\d+\/nfc\/.*\/disk-0\.vmdk failed: .*\n$/);
    const methods = proxy.requests.slice(from).map((r) => r.soapMethod ?? (r.path.startsWith('/nfc/') ? `NFC ${r.status}` : r.path));
    assert.ok(methods.includes('ImportVApp') && methods.includes('NFC 0'), methods.join(' '));
    assert.ok(methods.indexOf('HttpNfcLeaseAbort') > methods.indexOf('NFC 0'), methods.join(' '));
    assert.ok(!methods.includes('HttpNfcLeaseComplete'));
    assert.equal(await findByInventoryPath(session, '/DC0/vm/pcg-installer-cut'), undefined);
    assert.equal(await vmCount(), before);
  });

  it('the OVA altered between its verification and the upload: PCG_ERR_OVA_INVALID, the lease aborted before completion, not every byte sent, no VM', async () => {
    const swapped = join(dir.path, 'swapped.ova');
    copyFileSync(ovaPath, swapped);
    const { bytes, good, bad } = tamperedBytes();
    const methods: string[] = [];
    const events: DeployEvent[] = [];
    const recording = await VimSession.login({ ...vcsim.connection(), onRequest: (method) => methods.push(method) });
    const before = { vms: await vmCount(), requests: proxy.requests.length };
    let failed: unknown;
    try {
      failed = await deployOva({
        ovaPath: swapped, session: recording, properties: {}, name: 'pcg-installer-swapped', vcenterHost: proxy.host, trust: { thumbprint: proxy.thumbprint },
        placement: { datacenter: 'DC0', cluster: 'DC0_C0', datastore: 'LocalDS_0', network: 'VM Network', folder: '' },
        onEvent: (e) => {
          events.push(e);
          // readOva has verified the file; the upload reads it again from here on.
          if (e.step === 'lease-ready') writeFileSync(swapped, bytes);
        },
      }).then(() => undefined, (err: unknown) => err);
    } finally {
      await recording.close();
    }
    assert.ok(failed instanceof PcgError, String(failed));
    assert.equal(failed.code, 'PCG_ERR_OVA_INVALID');
    assert.equal(failed.message, `swapped.ova: pcg-installer-disk1.vmdk changed after it was verified (read for the upload: SHA256 ${bad}, verified ${good}); the import was aborted${HINT}`);
    assert.deepEqual(events.map((e) => e.step).filter((s) => s !== 'upload'), ['verified', 'import-spec', 'lease-ready', 'aborted']);
    assert.deepEqual(events.at(-1), { step: 'aborted', vmRemoved: true });
    assert.ok(methods.includes('HttpNfcLeaseAbort') && !methods.includes('HttpNfcLeaseComplete'), methods.join(' '));
    const nfc = proxy.requests.slice(before.requests).filter((r) => r.path.startsWith('/nfc/'));
    assert.equal(nfc.length, 1);
    assert.equal(nfc[0]!.status, 0, 'the upload never reached vcsim');
    assert.ok(nfc[0]!.bytes < vmdkBytes.length, `${nfc[0]!.bytes} of ${vmdkBytes.length} bytes sent: the last chunk is held back`);
    assert.equal(await findByInventoryPath(session, '/DC0/vm/pcg-installer-swapped'), undefined);
    assert.equal(await vmCount(), before.vms);
  });

  it('an unknown --prop key is refused before vCenter is asked anything (exit 2)', async () => {
    const from = proxy.requests.length;
    const run = await deploy(ovaPath, 'pcg-installer-typo', ['--prop', 'pcg.relayURL=https://x']);
    assert.equal(run.code, 2);
    assert.equal(run.stderr, `PCG_ERR_CONFIG_INVALID: --prop pcg.relayURL: the OVA declares no such property (it has ${APPLIANCE_PROPERTIES.map((p) => p.key).join(', ')}). Fix the named configuration key (file, PCG_* environment variable or flag).\n`);
    assert.equal(proxy.requests.length, from, 'no request reached vCenter');
  });

  it('a password property on the command line is refused, naming the key and --prop-file, before anything is read (exit 2)', async () => {
    const from = proxy.requests.length;
    const run = await deploy(ovaPath, 'pcg-installer-exposed', ['--prop', 'pcg.relayUrl=https://relay.example.test/', '--prop', `pcg.pairingCode=${GIVEN['pcg.pairingCode']}`]);
    assert.equal(run.code, 2);
    assert.equal(run.stderr, 'PCG_ERR_CONFIG_INVALID: --prop pcg.pairingCode: a password property is not taken from the command line (ps and shell history show it); '
      + 'put it in a --prop-file of mode 0600. Fix the named configuration key (file, PCG_* environment variable or flag).\n');
    assert.ok(!run.stderr.includes(GIVEN['pcg.pairingCode']));
    const token = await deploy(ovaPath, 'pcg-installer-exposed', ['--prop', 'pcg.setupToken=not-on-the-command-line']);
    assert.deepEqual([token.code, /^PCG_ERR_CONFIG_INVALID: --prop pcg\.setupToken: a password property/.test(token.stderr), token.stderr.includes('not-on-the-command-line')], [2, true, false]);
    assert.equal(proxy.requests.length, from, 'no request reached vCenter');
  });

  it('--prop-file: a file others can read is refused; JSON works too, its keys checked like --prop ones; a key in both is refused', async () => {
    const from = proxy.requests.length;
    const open = join(dir.path, 'props-0644');
    writeFileSync(open, `pcg.pairingCode=${GIVEN['pcg.pairingCode']}\n`, { mode: 0o644 });
    const readable = await deploy(ovaPath, 'pcg-installer-0644', ['--prop-file', open]);
    assert.equal(readable.code, 2);
    assert.equal(readable.stderr, `PCG_ERR_CONFIG_INVALID: --prop-file: ${open} has mode 644; make it 0600. Fix the named configuration key (file, PCG_* environment variable or flag).\n`);
    const json = join(dir.path, 'props.json');
    writeFileSync(json, JSON.stringify({ 'pcg.pairingCode': GIVEN['pcg.pairingCode'], 'pcg.relayURL': 'https://x' }), { mode: 0o600 });
    const typo = await deploy(ovaPath, 'pcg-installer-json', ['--prop-file', json]);
    assert.equal(typo.code, 2);
    assert.equal(typo.stderr, `PCG_ERR_CONFIG_INVALID: --prop-file ${json}: pcg.relayURL: the OVA declares no such property (it has ${APPLIANCE_PROPERTIES.map((p) => p.key).join(', ')}). `
      + 'Fix the named configuration key (file, PCG_* environment variable or flag).\n');
    const twice = await deploy(ovaPath, 'pcg-installer-twice', ['--prop', 'pcg.relayURL=https://y', '--prop-file', json]);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, new RegExp(`^PCG_ERR_CONFIG_INVALID: pcg\\.relayURL: given with --prop and in --prop-file ${json}; give it once\\. `));
    for (const run of [readable, typo, twice]) assert.ok(!run.stderr.includes(GIVEN['pcg.pairingCode']) && run.stdout === '');
    assert.equal(proxy.requests.length, from, 'no request reached vCenter');
  });

  it('in process, recorded: a deploy and an aborted deploy send every import method, each body in vim25 WSDL order', async () => {
    const recording = await VimSession.login({ ...vcsim.connection(), onRequest: (method, body) => recorded.push({ name: `${recorded.length} ${method}`, body }) });
    const events: DeployEvent[] = [];
    try {
      const common = {
        ovaPath, session: recording, properties: GIVEN, progressIntervalMs: 1,
        placement: { datacenter: 'DC0', cluster: 'DC0_C0', datastore: 'LocalDS_0', network: 'VM Network', folder: '' },
        onEvent: (e: DeployEvent) => events.push(e),
      };
      // Disk straight to vcsim, pinned like the session.
      const ok = await deployOva({ ...common, name: 'pcg-installer-b', vcenterHost: vcsim.host, trust: { thumbprint: vcsim.thumbprint } });
      assert.equal(ok.uploadedBytes, vmdkBytes.length);
      // Disk through the cutting proxy (the session still talks to vcsim): the upload fails.
      proxy.cutNfcAfter = 128 * 1024;
      const failed = await deployOva({ ...common, name: 'pcg-installer-c', vcenterHost: proxy.host, trust: { thumbprint: proxy.thumbprint } }).then(() => undefined, (err: unknown) => err);
      proxy.cutNfcAfter = undefined;
      assert.ok(failed instanceof PcgError);
      assert.equal(failed.code, 'PCG_ERR_VCENTER_UNREACHABLE');
      assert.deepEqual(events.filter((e) => e.step === 'aborted'), [{ step: 'aborted', vmRemoved: true }]);
      assert.equal(await findByInventoryPath(session, '/DC0/vm/pcg-installer-c'), undefined);
    } finally {
      await recording.close();
    }
    const sent = new Set(recorded.map((r) => r.name.split(' ')[1]));
    const methods = new Set<string>();
    for (const file of readdirSync(SOURCES).filter((f) => IMPORT_SOURCES.includes(f))) {
      for (const m of readFileSync(new URL(file, SOURCES), 'utf8').matchAll(/\b(?:call|invoke|#task|callIfLive)\('([A-Za-z_]+)'/g)) methods.add(m[1]!);
    }
    assert.deepEqual([...methods].sort(), ['CreateImportSpec', 'HttpNfcLeaseAbort', 'HttpNfcLeaseComplete', 'HttpNfcLeaseProgress', 'ImportVApp', 'RetrieveServiceContent']);
    assert.deepEqual([...methods].filter((m) => !sent.has(m)), []);
    const { exitCode, verdicts } = checkElementOrder(recorded);
    assert.deepEqual(verdicts.filter((v) => v.errors.length > 0), []);
    assert.equal(exitCode, 0);
  });
});
