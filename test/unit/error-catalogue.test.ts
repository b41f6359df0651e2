import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { ERROR_CATALOGUE, PcgError, codeForClose } from '../../proto/errors.js';

const README = new URL('../../../proto/README.md', import.meta.url);

describe('error catalogue', () => {
  it('equals the table in proto/README.md, row for row', () => {
    const rows = readFileSync(README, 'utf8').split('\n')
      .map((line) => /^\| `(PCG_ERR_[A-Z_]+)` \| (\d+) \| (\d+) \| (.+) \|$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], { http: Number(m[2]), close: Number(m[3]), hint: m[4] }]);
    assert.deepEqual(Object.fromEntries(rows), ERROR_CATALOGUE);
  });

  it('gives every code a distinct close code, so a close tells its cause', () => {
    const closes = Object.values(ERROR_CATALOGUE).map((s) => s.close);
    assert.equal(new Set(closes).size, closes.length);
    for (const [code, spec] of Object.entries(ERROR_CATALOGUE)) assert.equal(codeForClose(spec.close), code);
  });

  it('errors carry code, status, close code and a message that says what to do', () => {
    const err = new PcgError('PCG_ERR_PAIR_CODE_EXPIRED', 'code XXXX expired', { cause: new Error('inner') });
    assert.equal(err.httpStatus, 410);
    assert.equal(err.closeCode, 4412);
    assert.equal(err.message, 'code XXXX expired. The pairing code has expired; issue a new one in the portal.');
    assert.equal(String(err), `PCG_ERR_PAIR_CODE_EXPIRED: ${err.message}`);
    assert.equal((err.cause as Error).message, 'inner');
  });
});
