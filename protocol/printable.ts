/** Text from the wire made safe to print on one line of a terminal or log (broker logs, recorder, publisher). */

/** Characters that reorder or hide text on a terminal (bidi controls, zero-width marks) and line separators. */
export const INVISIBLE_CLASS = '\\u061c\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2069\\ufeff';
const UNPRINTABLE = new RegExp(`[\\u0000-\\u001f\\u007f-\\u009f${INVISIBLE_CLASS}]`, 'g');

/**
 * A string from the wire made safe for a one-line log message: control characters (newlines, escapes), bidi
 * controls and zero-width marks are written as JSON escapes, so a client id, user name or reply cannot forge
 * log lines, terminal codes or a line that reads as something else.
 */
export function printable(text: string): string {
  const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
  return text.replace(UNPRINTABLE, (c) => named[c] ?? unicodeEscape(c));
}

export function unicodeEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

