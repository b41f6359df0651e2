/**
 * Where JSON text stops being JSON, as 1-based line and column. JSON.parse's own message on Node
 * 20 quotes the text around the error (`…"assword": hunter2sec"…`), which for a settings file is
 * the pairing code or a password; this scanner finds the place without quoting anything.
 * RFC 8259 grammar; undefined when the text is valid JSON (or nested too deep to follow).
 */
export function jsonSyntaxErrorAt(text: string): { line: number; column: number } | undefined {
  const offset = firstErrorOffset(text);
  if (offset === undefined) return undefined;
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - (before.lastIndexOf('\n') + 1) + 1 };
}

/** Thrown inside the scanner with the offset of the first character that cannot continue the text. */
class At extends Error {
  constructor(readonly offset: number) {
    super(`JSON syntax error at offset ${offset}`);
  }
}

function firstErrorOffset(text: string): number | undefined {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const expect = (c: string): void => {
    if (text[i] !== c) throw new At(i);
    i++;
  };
  const string = (): void => {
    expect('"');
    for (;;) {
      if (i >= text.length) throw new At(i);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) throw new At(i);
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          const bad = text.slice(i + 2, i + 6).padEnd(4, '"').search(/[^0-9a-fA-F]/);
          if (bad >= 0) throw new At(i + 2 + bad);
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else throw new At(i + 1);
      } else i++;
    }
  };
  const number = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) throw new At(i);
    i += m[0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        string();
        ws();
        expect(':');
        value();
        ws();
        if (text[i] === ',') i++;
        else return expect('}');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else return expect(']');
      }
    }
    if (c === '"') return string();
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    number();
  };
  try {
    value();
    ws();
    if (i < text.length) throw new At(i);
    return undefined;
  } catch (err) {
    if (err instanceof At) return err.offset;
    if (err instanceof RangeError) return undefined;
    throw err;
  }
}
