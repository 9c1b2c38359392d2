/** Text from the wire made safe to print on one line of a terminal or log (broker logs, recorder, publisher). */

/**
 * What a terminal or log viewer does not show as itself: control characters (C0, DEL, C1), format characters
 * (bidi controls, zero-width marks, tag characters), line and paragraph separators, and every other character
 * Unicode says is ignorable when shown (Hangul fillers, variation selectors, the soft hyphen).
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/gu;

/** The escapes JSON has a short name for. */
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A string from the wire made safe for a one-line log message: each character above is written as a JSON escape
 * (`\n`, `\u202e`), so a client id, user name or reply cannot forge log lines or terminal codes, or hide text in a
 * line that reads as something else.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => NAMED[c] ?? unicodeEscape(c));
}

/**
 * A JSON line with those characters written as `\u` escapes: the same JSON to a parser (outside its strings a JSON
 * line holds none but its final newline, which stays), but nothing in it reads as something else on a terminal.
 */
export function escapeUnprintable(jsonLine: string): string {
  return jsonLine.replace(UNPRINTABLE, (c) => (c === '\n' ? c : unicodeEscape(c)));
}

/** `\uXXXX` for each UTF-16 unit of `c` (a character beyond U+FFFF is two). */
export function unicodeEscape(c: string): string {
  let out = '';
  for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}
