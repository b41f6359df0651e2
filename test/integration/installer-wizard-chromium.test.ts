import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { ApiClient } from '../support/api-client.js';
import { BrowserPage, launchChromium } from '../support/chromium.js';
import { ConnectProxy } from '../support/connect-proxy.js';
import { createGateway, type NewGateway } from '../support/gateway-fixture.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { Vcsim } from '../support/vcsim-fixture.js';
import { WizardSandbox } from '../support/wizard-sandbox.js';

/** Field values as the page holds them. */
const value = (page: Page, selector: string): Promise<string> => page.locator(selector).inputValue();
const text = async (page: Page, selector: string): Promise<string> => (await page.locator(selector).textContent()) ?? '';

/** The ✓/✗ list of a step, as `name:ok` strings. */
async function checks(page: Page, step: string): Promise<string[]> {
  return page.locator(`#${step}-checks li`).evaluateAll((items) => items.map((li) => `${(li as HTMLElement).dataset.step}:${(li as HTMLElement).dataset.ok}`));
}

/** Waits for the next answer of one check route whose request matches, and for the page to render it. */
async function nextCheck(page: Page, route: string, step: string, matches: (body: Record<string, unknown>) => boolean, act: () => Promise<void>): Promise<Record<string, unknown>> {
  const [response] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === `/api/check/${route}` && matches(r.request().postDataJSON() as Record<string, unknown>)),
    act(),
  ]);
  const report = await response.json() as Record<string, unknown>;
  await page.locator(`#${step}-badge:not([data-state="busy"])`).waitFor();
  return report;
}

/** No check still running, so a screenshot shows answers only (past the page's 300 ms debounce first). */
async function settled(page: Page): Promise<void> {
  await page.waitForTimeout(400);
  await page.waitForFunction(() => !document.querySelector('.badge[data-state="busy"]'));
}

/** A pin of the right form that pins nothing we run. */
const strangerPin = (): string => `sha256/${randomBytes(32).toString('base64')}`;

describe('installer wizard in Chromium (pcg-installer serve, real relay and vcsim)', function () {
  this.timeout(180_000);
  let relay: RelayProcess;
  let api: ApiClient;
  let vcsim: Vcsim;
  let browser: Browser;
  let wizard: WizardSandbox | undefined;
  let tab: BrowserPage | undefined;

  before(async () => {
    relay = await RelayProcess.start({ args: ['--heartbeat', '1s'] });
    api = new ApiClient(relay.url, relay.caCert, (await relay.createTenant('wizard')).apiKey);
    vcsim = await Vcsim.start();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await vcsim?.stop();
    await relay?.stop();
  });
  afterEach(async () => {
    await tab?.close();
    await wizard?.stop();
    tab = undefined;
    wizard = undefined;
  });

  /** A fresh wizard and tab; returns the page at the token screen. */
  async function openWizard(): Promise<Page> {
    wizard = await WizardSandbox.start();
    tab = await BrowserPage.open(browser);
    await tab.page.goto(wizard.url);
    await tab.page.locator('#token-view').waitFor();
    return tab.page;
  }

  async function unlock(page: Page): Promise<void> {
    await page.fill('#token', wizard!.token);
    await page.click('#token-submit');
    await page.locator('#setup-form').waitFor();
  }

  /** A screenshot (test output) once no check is running. */
  async function shot(name: string): Promise<void> {
    await settled(tab!.page);
    await tab!.screenshot(name);
  }

  /** Problems the page reported, but not the 4xx answers the test asked for (a refused token, a failed setup). */
  function pageProblems(): string[] {
    return tab!.problems.filter((p) => !/^console: Failed to load resource: the server responded with a status of 4\d\d/.test(p));
  }

  it('refuses a wrong setup token on screen, then takes the right one for this tab only', async () => {
    const page = await openWizard();
    assert.match(await text(page, '#token-view'), /Enter the setup token shown on this VM's console/);
    assert.match(await text(page, '#token-view'), /pcg\.setupToken/);
    assert.equal(await text(page, '#fingerprint'), wizard!.wizard.fingerprint);
    await shot('01-token');

    await page.fill('#token', 'not-the-token');
    await page.click('#token-submit');
    await page.locator('#token-error').waitFor();
    assert.equal(await page.locator('#token-error').getAttribute('data-code'), 'PCG_ERR_SETUP_TOKEN');
    assert.match(await text(page, '#token-error'), /^PCG_ERR_SETUP_TOKEN/);
    assert.equal(await page.locator('#setup-form').isHidden(), true);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await shot('02-token-refused');

    await unlock(page);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('pcg-installer-setup-token')), wizard!.token);
    assert.deepEqual(pageProblems(), []);
  });

  it('an endpoint with a trailing slash is shown normalised and accepted', async () => {
    const page = await openWizard();
    await unlock(page);
    // Keyboard only: Enter in a field checks its step (and does not submit the form).
    const report = await nextCheck(page, 'relay', 'relay', (b) => b.relayUrl === `${relay.url}/` && b.caPin === relay.caPin, async () => {
      await page.fill('#caPin', relay.caPin);
      await page.fill('#relayUrl', `${relay.url}/`);
      await page.press('#relayUrl', 'Enter');
    });
    assert.equal(report.ok, true);
    assert.equal(await value(page, '#relayUrl'), relay.url);
    assert.equal(await page.locator('#relayUrl-normalized').isVisible(), true);
    assert.match(await text(page, '#relayUrl-normalized'), new RegExp(`^Normalised to ${relay.url.replace(/[.]/g, '\\.')} \\(typed: ${relay.url.replace(/[.]/g, '\\.')}/\\)$`));
    assert.deepEqual(await checks(page, 'relay'), ['url:true', 'dns:true', 'tcp:true', 'tls:true', 'clock:true']);
    assert.match(await text(page, '#relay-checks li[data-step="url"]'), /removed the trailing slash/);
    assert.equal(await page.locator('#relay-badge').getAttribute('data-state'), 'ok');
    assert.equal(await page.locator('#setup-progress').isHidden(), true);
    assert.deepEqual(pageProblems(), []);
  });

  it('a wrong pairing code is named after "Pair and start"; the form stays filled and the state dir empty', async () => {
    const page = await openWizard();
    await unlock(page);
    const gw = await createGateway(api, 'dc-wrong-code');
    // The real lookup id with a wrong secret: a real attempt, refused by the relay.
    const last = gw.pairingCode.at(-1) === 'Z' ? 'Y' : 'Z';
    const wrong = `${gw.pairingCode.slice(0, -1)}${last}`;
    await page.fill('#relayUrl', relay.url);
    await page.fill('#caPin', relay.caPin);
    await page.locator('#pairingCode').pressSequentially(wrong.replace(/-/g, '').toLowerCase());
    assert.equal(await value(page, '#pairingCode'), wrong);
    await page.locator('#relay-badge[data-state="ok"]').waitFor();

    await page.click('#setup-submit');
    await page.locator('#setup-error').waitFor();
    assert.match(await text(page, '#setup-error'), /^PCG_ERR_PAIR_CODE_INVALID/);
    assert.equal(await page.locator('#pairingCode-error').getAttribute('data-code'), 'PCG_ERR_PAIR_CODE_INVALID');
    assert.equal(await page.locator('#pairing-badge').getAttribute('data-state'), 'error');
    assert.deepEqual([await value(page, '#relayUrl'), await value(page, '#caPin'), await value(page, '#pairingCode')], [relay.url, relay.caPin, wrong]);
    assert.equal(await page.locator('#setup-submit').isEnabled(), true);
    assert.equal(await page.locator('#pairingCode').isEditable(), true);
    // Passing through the field without changing it keeps setup's answer there.
    await page.focus('#pairingCode');
    await page.keyboard.press('Tab');
    await page.waitForTimeout(400);
    assert.equal(await page.locator('#pairingCode-error').getAttribute('data-code'), 'PCG_ERR_PAIR_CODE_INVALID');
    assert.deepEqual(wizard!.stateDirEntries(), []);
    assert.equal(existsSync(wizard!.configFile), false);
    await page.locator('#setup-error').scrollIntoViewIfNeeded();
    await shot('03-error-pair-code');
    assert.notEqual((await api.get<{ status: string }>(`/v1/gateways/${gw.id}`)).body.status, 'online');
    assert.deepEqual(pageProblems(), []);
  });

  it('a TLS-intercepting proxy is named, with a wrong CA pin and with the right one', async () => {
    const proxy = await ConnectProxy.start('intercept');
    try {
      const page = await openWizard();
      await unlock(page);
      const wrongPin = strangerPin();
      const report = await nextCheck(page, 'relay', 'relay', (b) => b.caPin === wrongPin && (b.proxy as { httpsProxy?: string } | undefined)?.httpsProxy === proxy.url, async () => {
        await page.fill('#relayUrl', relay.url);
        await page.fill('#caPin', wrongPin);
        await page.fill('#proxy-httpsProxy', proxy.url);
        await page.locator('#proxy-httpsProxy').blur();
      });
      assert.equal((report.error as { code: string }).code, 'PCG_ERR_TLS_INTERCEPTED');
      assert.equal(await page.locator('#caPin-error').getAttribute('data-code'), 'PCG_ERR_TLS_INTERCEPTED');
      assert.deepEqual(await checks(page, 'relay'), ['url:true', 'proxy:true', 'connect:true', 'tls:false']);
      assert.ok(proxy.connects.includes(`127.0.0.1:${relay.port}`), proxy.connects.join(','));

      await nextCheck(page, 'relay', 'relay', (b) => b.caPin === relay.caPin, async () => {
        await page.fill('#caPin', relay.caPin);
        await page.click('#relay-check');
      });
      assert.equal(await page.locator('#caPin-error').getAttribute('data-code'), 'PCG_ERR_TLS_INTERCEPTED');
      assert.match(await text(page, '#caPin-error'), /^PCG_ERR_TLS_INTERCEPTED.*Corp Inspection CA/);
      await page.locator('#proxy-badge[data-state="ok"]').waitFor();

      // Pairing would present the code to the proxy: setup stops at the relay check, nothing written.
      const gw: NewGateway = await createGateway(api, 'dc-intercepted');
      await page.fill('#pairingCode', gw.pairingCode);
      await page.click('#setup-submit');
      await page.locator('#setup-error').waitFor();
      assert.match(await text(page, '#setup-error'), /^PCG_ERR_TLS_INTERCEPTED/);
      assert.deepEqual(wizard!.stateDirEntries(), []);
      await page.locator('#step-relay').scrollIntoViewIfNeeded();
      await shot('04-error-tls-intercepted');
      assert.deepEqual(pageProblems(), []);
    } finally {
      await proxy.close();
    }
  });

  it('a wrong vCenter password is named next to the password field, after the thumbprint is confirmed', async () => {
    const page = await openWizard();
    await unlock(page);
    const first = await nextCheck(page, 'vcenter', 'vcenter', (b) => b.password === 'not-the-password' && b.thumbprint === undefined, async () => {
      await page.fill('#vcenter-host', vcsim.host);
      await page.fill('#vcenter-user', vcsim.user);
      await page.fill('#vcenter-password', 'not-the-password');
      await page.locator('#vcenter-password').blur();
    });
    assert.equal((first.error as { field: string }).field, 'vcenter.thumbprint');
    const shown = await text(page, '#vcenter-thumbprint-shown');
    assert.equal(shown.replace(/:/g, '').toUpperCase(), vcsim.thumbprint.replace(/:/g, '').toUpperCase());
    assert.equal(await page.locator('#vcenter-badge').getAttribute('data-state'), 'warn');
    assert.equal(await page.locator('#vcenter-password-error').isHidden(), true);

    const second = await nextCheck(page, 'vcenter', 'vcenter', (b) => b.thumbprint === shown, () => page.check('#vcenter-confirm'));
    assert.equal((second.error as { code: string }).code, 'PCG_ERR_VCENTER_LOGIN');
    assert.equal(await page.locator('#vcenter-password-error').getAttribute('data-code'), 'PCG_ERR_VCENTER_LOGIN');
    assert.match(await text(page, '#vcenter-password-error'), new RegExp(`^PCG_ERR_VCENTER_LOGIN.*${vcsim.user}`));
    assert.deepEqual(await checks(page, 'vcenter'), ['address:true', 'dns:true', 'tls:true', 'thumbprint:true', 'login:false']);
    assert.equal(await value(page, '#vcenter-password'), 'not-the-password');
    await page.locator('#step-vcenter').scrollIntoViewIfNeeded();
    await shot('05-error-vcenter-login');
    assert.deepEqual(pageProblems(), []);
  });

  it('pairs, starts the gateway and shows it online without a reload; then the status page needs no token', async () => {
    const page = await openWizard();
    await unlock(page);
    const gw = await createGateway(api, 'dc-wizard');
    await page.fill('#relayUrl', relay.url);
    await page.fill('#caPin', relay.caPin);
    await page.locator('#pairingCode').pressSequentially(gw.pairingCode.replace(/-/g, ' ').toLowerCase());
    assert.equal(await value(page, '#pairingCode'), gw.pairingCode);
    await page.fill('#vcenter-host', vcsim.host);
    await page.fill('#vcenter-user', vcsim.user);
    await page.fill('#vcenter-password', vcsim.password);
    await page.locator('#vcenter-password').blur();
    await page.locator('#vcenter-thumbprint-box').waitFor();
    await nextCheck(page, 'vcenter', 'vcenter', (b) => typeof b.thumbprint === 'string', () => page.check('#vcenter-confirm'));
    for (const step of ['relay', 'pairing', 'network', 'ntp', 'vcenter']) await page.locator(`#${step}-badge[data-state="ok"]`).waitFor();
    assert.equal(await text(page, '#proxy-badge'), 'Not needed');
    assert.deepEqual(await checks(page, 'vcenter'), ['address:true', 'dns:true', 'tls:true', 'thumbprint:true', 'login:true', 'privileges:true', 'inventory:true']);
    await shot('06-form-checked');

    // Marks this document: a reload would lose it.
    await page.evaluate(() => ((window as unknown as { pcgNoReload: boolean }).pcgNoReload = true));
    await page.click('#setup-submit');
    await page.locator('#setup-progress').waitFor();
    await page.locator('#status-view').waitFor({ timeout: 90_000 });
    await page.locator('#gw-state[data-state="online"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.evaluate(() => (window as unknown as { pcgNoReload?: boolean }).pcgNoReload), true);
    assert.equal(await text(page, '#gw-state'), 'Online');
    assert.equal(await text(page, '#gw-id'), gw.id);
    assert.equal(await text(page, '#gw-relay'), relay.url);
    assert.equal((await api.get<{ status: string }>(`/v1/gateways/${gw.id}`)).body.status, 'online');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await shot('07-online');

    await page.reload();
    await page.locator('#gw-state[data-state="online"]').waitFor();
    assert.equal(await page.locator('#token-view').isHidden(), true);
    assert.equal(await page.locator('#setup-form').isHidden(), true);
    const fresh = await BrowserPage.open(browser);
    try {
      await fresh.page.goto(wizard!.url);
      await fresh.page.locator('#gw-state[data-state="online"]').waitFor();
      assert.equal(await text(fresh.page, '#gw-id'), gw.id);
      assert.equal(await fresh.page.locator('#token-view').isHidden(), true);
    } finally {
      await fresh.close();
    }
    assert.deepEqual(pageProblems(), []);
  });
});
