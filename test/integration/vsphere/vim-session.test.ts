import { strict as assert } from 'node:assert';
import { PcgError } from '../../../proto/errors.js';
import { vcenterSdkUrl } from '../../../gateway/vsphere/vcenter-address.js';
import { VimFault } from '../../../gateway/vsphere/vim-fault.js';
import { VimSession } from '../../../gateway/vsphere/vim-session.js';
import { el } from '../../../gateway/vsphere/soap-xml.js';
import { Vcsim } from '../../support/vcsim-fixture.js';

describe('vSphere session against vcsim', function () {
  this.timeout(60_000);
  let vcsim: Vcsim;
  before(async () => {
    vcsim = await Vcsim.start({ vm: 2 });
  });
  after(() => vcsim.stop());

  const connect = (password = vcsim.password, thumbprint = vcsim.thumbprint, onRequest?: (method: string) => void) =>
    VimSession.login(vcsim.connection({ password, thumbprint, onRequest }));

  it('logs in with the thumbprint pinned and reads the service content', async () => {
    const session = await connect();
    try {
      assert.equal(session.content.about.fullName.startsWith('VMware vCenter Server'), true);
      assert.equal(session.soap.version, '6.5');
      assert.equal(await session.currentSession(), vcsim.user);
      assert.equal(session.logins, 1);
    } finally {
      await session.close();
    }
  });

  it('a wrong password fails with InvalidLogin after exactly one attempt', async () => {
    const methods: string[] = [];
    const err = await connect('wrong-password', vcsim.thumbprint, (m) => methods.push(m)).then(() => undefined, (e: unknown) => e);
    assert.deepEqual(methods, ['RetrieveServiceContent', 'Login']);
    assert.ok(err instanceof VimFault);
    assert.equal(err.code, 'PCG_ERR_VCENTER_LOGIN');
    assert.equal(err.faultType, 'InvalidLogin');
    assert.match(err.message, /^Login: InvalidLogin: /);
    assert.ok(!err.message.includes('wrong-password'));
  });

  it('a thumbprint mismatch names expected and actual, before any SOAP is sent', async () => {
    const wrong = 'AA:'.repeat(31) + 'AA';
    const err = await connect(vcsim.password, wrong).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof PcgError);
    assert.equal(err.code, 'PCG_ERR_VCENTER_TLS');
    assert.ok(err.message.includes(`expected ${wrong}, got ${vcsim.thumbprint}`), err.message);
  });

  it('a call on an expired session logs in again exactly once and succeeds', async () => {
    const session = await connect();
    try {
      // End the session behind the client's back, as an idle timeout on vCenter would.
      await session.soap.invoke('Logout', el('_this', session.content.sessionManager));
      const before = session.soap.requests;
      const now = await session.currentTime();
      assert.ok(Math.abs(now.getTime() - Date.now()) < 60_000);
      assert.equal(session.logins, 2);
      assert.equal(session.soap.requests - before, 3, 'failed call, Login, retried call');
    } finally {
      await session.close();
    }
  });

  it('checks currentSession before reuse and logs in once when it is gone', async () => {
    const session = await connect();
    try {
      assert.equal(await session.ensureSession(), false);
      await session.soap.invoke('Logout', el('_this', session.content.sessionManager));
      assert.equal(await session.ensureSession(), true);
      assert.equal(await session.currentSession(), vcsim.user);
      assert.equal(session.logins, 2);
    } finally {
      await session.close();
    }
  });

  it('accepts the vCenter address in every usual form', () => {
    for (const typed of ['vc.example.com', 'https://vc.example.com/', 'https://vc.example.com/sdk', ' vc.example.com ']) {
      assert.equal(vcenterSdkUrl(typed).href, 'https://vc.example.com/sdk');
    }
    assert.equal(vcenterSdkUrl('vc.example.com:8443').href, 'https://vc.example.com:8443/sdk');
    assert.throws(() => vcenterSdkUrl('http://vc.example.com'), (e: unknown) => e instanceof PcgError && e.code === 'PCG_ERR_CONFIG_INVALID');
  });
});

describe('vSphere finder and keepalive against vcsim', function () {
  this.timeout(60_000);
  let vcsim: Vcsim;
  let session: VimSession;
  before(async () => {
    vcsim = await Vcsim.start({ vm: 1 });
    session = await VimSession.login(vcsim.connection());
  });
  after(async () => {
    await session.close();
    await vcsim.stop();
  });

  it('finds by inventory path and by managed object id', async () => {
    const { findById, findByInventoryPath } = await import('../../../gateway/vsphere/finder.js');
    const folder = await findByInventoryPath(session, '/DC0/vm');
    assert.equal(folder?.type, 'Folder');
    assert.equal(await findByInventoryPath(session, '/DC0/vm/nope'), undefined);
    assert.deepEqual(await findById(session, 'Folder', folder.value), { ref: folder, name: 'vm' });
    assert.equal(await findById(session, 'Datastore', 'datastore-424242'), undefined);
  });

  it('the keepalive renews a session that vCenter ended, without any call from the caller', async () => {
    const { waitFor } = await import('../../support/wait-for.js');
    session.startKeepalive(100, (err) => assert.fail(String(err)));
    await session.soap.invoke('Logout', el('_this', session.content.sessionManager));
    // logins counts a Login as it is sent; the session is usable once it has been answered.
    await waitFor('a keepalive login', async () => session.logins === 2 && (await session.currentSession()) === vcsim.user, 5000);
    assert.equal(session.logins, 2);
  });
});
