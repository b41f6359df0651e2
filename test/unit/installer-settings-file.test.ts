import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonSyntaxErrorAt } from '../../installer-ova/setup/json-syntax-error.js';
import { parseProxyUrl } from '../../installer-ova/setup/proxy-check.js';
import { readSettingsFile } from '../../installer-ova/setup/settings-file.js';
import { proxyForDisplay, withoutUserinfo } from '../../installer-ova/setup/without-userinfo.js';
import { PcgError } from '../../proto/errors.js';
import { tempDir } from '../support/temp-dir.js';

describe('installer: settings file', () => {
  let dir: { path: string; remove: () => void };
  beforeEach(() => (dir = tempDir('settings-file')));
  afterEach(() => dir.remove());
  let n = 0;
  const write = (text: string, mode = 0o600): string => {
    const file = join(dir.path, `settings-${n++}.json`);
    writeFileSync(file, text, { mode });
    return file;
  };

  it('a syntax error is named by line and column only, never with the text around it', async () => {
    const file = write('{\n  "relayUrl": "https://relay.example.com",\n  "pairingCode": "Y6SH-X1N5-T0Z9-6F1D", "vcenter": { "password": hunter2sec" }\n}\n');
    await assert.rejects(readSettingsFile(file), (err: unknown) => {
      assert.ok(err instanceof PcgError);
      assert.equal(err.message, `--config: ${file} is not JSON (syntax error at line 3, column 66). Fix the named configuration key (file, PCG_* environment variable or flag).`);
      return true;
    });
    const missingBrace = write('{"relayUrl": "https://r", "pairingCode": "Y6SH-X1N5-T0Z9-6F1D"');
    await assert.rejects(readSettingsFile(missingBrace), /is not JSON \(syntax error at line 1, column 63\)\. /);
  });

  it('refuses a file others can read and names a field of the wrong type', async () => {
    await assert.rejects(readSettingsFile(write('{}', 0o640)), /^PCG_ERR_CONFIG_INVALID: --config: .*settings-\d\.json has mode 640; make it 0600/);
    await assert.rejects(readSettingsFile(write('{"relayUrl": "r", "pairingCode": 5}')), /settings-\d\.json: pairingCode: expected string/);
  });

  it('finds where JSON stops being JSON: the offsets V8 names, and those it only quotes', () => {
    // V8 gives "at position N" for these: the scanner agrees.
    for (const text of ['{"a": 1,}', '{"a": 1', '{"a" 1}', '[1,2', '\n\n {"a": "x\n"}', '{"a":1}x', '[01]', '{"a": "\\q"}', '{"a": "\\u12G4"}', '{"a": "\\u12"}', '']) {
      let position: number | undefined;
      try {
        JSON.parse(text);
      } catch (err) {
        const m = / at position (\d+)/.exec((err as Error).message);
        position = m ? Number(m[1]) : text.length;
      }
      const at = jsonSyntaxErrorAt(text)!;
      const lines = text.slice(0, position).split('\n');
      assert.deepEqual(at, { line: lines.length, column: lines.at(-1)!.length + 1 }, JSON.stringify(text));
    }
    assert.deepEqual(jsonSyntaxErrorAt('{"password": hunter2sec"}'), { line: 1, column: 14 });
    assert.deepEqual(jsonSyntaxErrorAt('{"a": tru}'), { line: 1, column: 7 });
    assert.equal(jsonSyntaxErrorAt(' {"a": [1, -2.5e3, true, null, "\\u00e9\\n"], "b": {}} '), undefined);
    assert.equal(jsonSyntaxErrorAt('['.repeat(100_000)), undefined, 'too deep to follow: no position rather than a crash');
  });
});

describe('installer: proxy credentials never reach a message', () => {
  it('removes the userinfo of URLs in running text and of a typed proxy value', () => {
    assert.equal(withoutUserinfo('cannot reach http://pcg:hunter2sec@proxy:3128 (ECONNREFUSED), see https://a@b.example/x'), 'cannot reach http://proxy:3128 (ECONNREFUSED), see https://b.example/x');
    assert.equal(withoutUserinfo('user pcg@vsphere.local at https://vc/sdk'), 'user pcg@vsphere.local at https://vc/sdk');
    assert.equal(proxyForDisplay('pcg:hunter2sec@proxy:3128'), 'proxy:3128');
    assert.equal(proxyForDisplay('http://pcg:p@ss@proxy:3128/path'), 'http://proxy:3128/path');
    assert.equal(proxyForDisplay('http://proxy:3128'), 'http://proxy:3128');
  });

  it('parseProxyUrl names the value without its credentials', () => {
    assert.throws(() => parseProxyUrl('pcg:hunter2sec@proxy.example.com:3128/pac'), (err: unknown) => err instanceof PcgError
      && err.detail === 'proxy.httpsProxy: "proxy.example.com:3128/pac" has a path or query; enter only http://host:port');
    assert.throws(() => parseProxyUrl('http://pcg:hunter2sec@[bad'), (err: unknown) => err instanceof PcgError
      && err.detail === 'proxy.httpsProxy: "http://[bad" is not a URL like http://proxy.example.com:3128');
    assert.equal(parseProxyUrl('pcg:hunter2sec@proxy.example.com:3128').password, 'hunter2sec', 'kept for the proxy itself');
  });
});
