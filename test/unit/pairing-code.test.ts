import { strict as assert } from 'node:assert';
import { PcgError } from '../../proto/errors.js';
import { formatPairingCode, generatePairingCode, parsePairingCode } from '../../proto/pairing-code.js';

describe('pairing code format', () => {
  it('is 16 Crockford base32 characters in four groups; first group is the lookup id', () => {
    const code = generatePairingCode();
    const shown = formatPairingCode(code);
    assert.match(shown, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    assert.deepEqual(parsePairingCode(shown), code);
    assert.equal(code.id, shown.slice(0, 4));
    assert.equal(code.secret.length, 12);
  });

  it('forgives case, spaces and look-alike letters', () => {
    assert.deepEqual(parsePairingCode('abcd efgh-jkmn-pqrs'), { id: 'ABCD', secret: 'EFGHJKMNPQRS' });
    assert.deepEqual(parsePairingCode('o1il-0000-0000-0000'), { id: '0111', secret: '000000000000' });
  });

  it('rejects wrong length and foreign characters without echoing them', () => {
    const check = (input: string, detail: RegExp) => assert.throws(() => parsePairingCode(input), (err: unknown) =>
      err instanceof PcgError && err.code === 'PCG_ERR_PAIR_CODE_FORMAT' && detail.test(err.message) && !err.message.includes(input));
    check('ABCD-EFGH-JKMN', /12 characters, expected 16/);
    check('ABCD-EFGH-JKMN-PQRU', /outside Crockford/);
  });
});
