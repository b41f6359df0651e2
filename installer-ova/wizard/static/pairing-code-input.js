// The pairing code as typed: upper-cased and grouped XXXX-XXXX-XXXX-XXXX at once, its format
// checked in the browser the way proto/pairing-code.ts parses it (I and L read as 1, O as 0).

export const CROCKFORD_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const LENGTH = 16;

/** Characters that count: everything but spaces and dashes, upper-cased, with the forgiving reads. */
function significant(text) {
  return text.toUpperCase().replace(/[\s-]/g, '').replace(/[IL]/g, '1').replace(/O/g, '0');
}

export function formatPairingCode(text) {
  const chars = significant(text).slice(0, LENGTH);
  return chars.replace(/(.{4})(?=.)/g, '$1-');
}

/**
 * The format error for what was typed, or undefined when it is fine so far. `complete` asks for
 * all 16 characters (on blur and submit); while typing only a wrong character is an error.
 * The code itself is never echoed: it is a secret.
 */
export function pairingCodeFormatError(text, complete) {
  const chars = significant(text);
  if ([...chars].some((c) => !CROCKFORD_ALPHABET.includes(c))) {
    return { code: 'PCG_ERR_PAIR_CODE_FORMAT', message: 'the pairing code contains a character outside Crockford base32 (0–9 and A–Z without I, L, O, U); copy it again from the portal.', field: 'pairingCode' };
  }
  if (complete && chars.length !== LENGTH) {
    return { code: 'PCG_ERR_PAIR_CODE_FORMAT', message: `the pairing code has ${chars.length} characters, expected ${LENGTH} (XXXX-XXXX-XXXX-XXXX).`, field: 'pairingCode' };
  }
  return undefined;
}

/** Re-formats the input on every keystroke, keeping the caret after the same character. */
export function attachPairingCodeFormatting(input, onFormatted) {
  input.addEventListener('input', () => {
    const caret = input.selectionStart ?? input.value.length;
    const before = significant(input.value.slice(0, caret)).length;
    const formatted = formatPairingCode(input.value);
    if (formatted !== input.value) {
      input.value = formatted;
      // Position after the `before`-th significant character, skipping the dashes in between.
      let pos = 0;
      for (let seen = 0; pos < formatted.length && seen < before; pos++) if (formatted[pos] !== '-') seen++;
      input.setSelectionRange(pos, pos);
    }
    onFormatted(formatted);
  });
}
