import { describe, expect, it } from 'vitest';
import { escapeUnprintable, printable } from './printable';

// Found by an attack round on issue 26: DEL and the C1 controls reached JSON log fields raw, and other characters
// that do not show as themselves (tag characters, Hangul fillers, the soft hyphen…) reached both formats.
const HIDDEN = ['\u007f', '\u0085', '\u009b', '\u00ad', '\u034f', '\u115f', '\u180e', '\u200b', '\u202e', '\u2028', '\u2066', '\u206a', '\u3164', '\ufeff', '\ufff9', '\u{e0001}', '\u{e0041}', '\u{1d173}'];

describe('printable', () => {
  it('writes every character that does not show as itself as an escape, and keeps the rest', () => {
    for (const c of HIDDEN) {
      const shown = printable(`a${c}b`);
      expect(shown, `U+${c.codePointAt(0)!.toString(16)}`).toMatch(/^a(\\u[0-9a-f]{4})+b$/);
      expect(JSON.parse(`"${shown}"`)).toBe(`a${c}b`); // the escapes are JSON's: a reader gets the text back
    }
    expect(printable('line\nnext\ttab')).toBe('line\\nnext\\ttab');
    expect(printable('café 温度 👍 \ufffd')).toBe('café 温度 👍 \ufffd');
  });

  it('escapes them in a JSON line too, which stays the same JSON, its final newline kept', () => {
    const value = { clientId: HIDDEN.join(''), msg: 'x' };
    const line = `${JSON.stringify(value)}\n`;
    const escaped = escapeUnprintable(line);
    expect(escaped.endsWith('}\n')).toBe(true);
    expect(escaped.slice(0, -1)).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u);
    expect(JSON.parse(escaped)).toEqual(value);
  });
});
