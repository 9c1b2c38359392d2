import { checkDecoded, type CheckedMessage } from '../../../../protocol';
import { jsonNestsDeeperThan } from '../../../../protocol/json-depth';

/** A payload from the wire, decoded once; shown always as text, never as HTML (see decodeAs). */
export type FormattedPayload =
  | { kind: 'json'; text: string; value: unknown }
  | { kind: 'text'; text: string }
  | { kind: 'binary'; text: string; size: number };

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Lenient = new TextDecoder('utf-8');
const MAX_HEX_BYTES = 64;
/**
 * JSON nested deeper than this is shown as text: pretty-printing, diffing and charting walk a value
 * recursively, and a hostile payload (`[[[[…` 30,000 deep) would overflow the stack.
 */
export const MAX_JSON_DEPTH = 64;
/** Plotted fields per topic, nested ones included. */
export const MAX_NUMERIC_FIELDS = 8;

/** `text`, cut after `max` characters with a note of its length. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

/** JSON (parsed), other UTF-8 as text, anything else as its size and first bytes in hex. */
export function formatPayload(bytes: Uint8Array): FormattedPayload {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    const hex = Array.from(bytes.subarray(0, MAX_HEX_BYTES), (b) => b.toString(16).padStart(2, '0')).join(' ');
    return { kind: 'binary', size: bytes.length, text: `${bytes.length} bytes: ${hex}${bytes.length > MAX_HEX_BYTES ? ' …' : ''}` };
  }
  const trimmed = text.trim();
  if ((trimmed.startsWith('{') || trimmed.startsWith('[')) && !jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) {
    try {
      const value: unknown = JSON.parse(text);
      return { kind: 'json', value, text };
    } catch {
      // not JSON after all: shown as text
    }
  }
  return { kind: 'text', text };
}

/** The contract's check of a message, on the payload as decoded once here (no second decoding). */
export function checkFormatted(topic: string, payload: FormattedPayload): CheckedMessage {
  return checkDecoded(topic, payload.kind === 'binary' ? null : payload.text, payload.kind === 'json' ? payload.value : undefined);
}

/** The ways a topic's page can show a payload. */
export const DECODINGS = ['auto', 'json', 'text', 'hex', 'base64'] as const;
export type Decoding = (typeof DECODINGS)[number];

/**
 * A payload shown the way the person asked, as text (never HTML): `auto` is JSON pretty-printed, else UTF-8
 * text, else hex; `error` says why it cannot be read that way (then `text` is empty).
 */
export function decodeAs(bytes: Uint8Array, as: Decoding): { text: string; error?: string } {
  switch (as) {
    case 'auto': {
      const formatted = formatPayload(bytes);
      if (formatted.kind === 'json') return { text: JSON.stringify(formatted.value, null, 2) };
      return { text: formatted.kind === 'text' ? formatted.text : hexDump(bytes) };
    }
    case 'json':
      try {
        const text = utf8Lenient.decode(bytes);
        if (jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) return { text: '', error: `nested deeper than ${MAX_JSON_DEPTH} levels: shown as text only` };
        return { text: JSON.stringify(JSON.parse(text), null, 2) };
      } catch (error) {
        return { text: '', error: `not JSON: ${(error as Error).message}` };
      }
    case 'text':
      return { text: utf8Lenient.decode(bytes) };
    case 'hex':
      return { text: hexDump(bytes) };
    case 'base64':
      return { text: base64(bytes) };
  }
}

/** 16 bytes a line, each line led by its offset: `0000  48 69`. */
export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const hex = Array.from(bytes.subarray(at, at + 16), (b) => b.toString(16).padStart(2, '0')).join(' ');
    lines.push(`${at.toString(16).padStart(4, '0')}  ${hex}`);
  }
  return lines.join('\n');
}

export function base64(bytes: Uint8Array): string {
  let binary = '';
  // In chunks: String.fromCharCode takes its bytes as arguments, and arguments are limited.
  for (let at = 0; at < bytes.length; at += 0x8000) binary += String.fromCharCode(...bytes.subarray(at, at + 0x8000));
  return btoa(binary);
}

/**
 * The numbers worth plotting in a payload: a plain numeric payload (`21.5`) as "value", and the numeric
 * fields of a JSON object, one level of nesting deep (`{"cpu":{"load":0.4}}` gives "cpu.load"), at most
 * MAX_NUMERIC_FIELDS of them however they are nested.
 */
export function numericFields(formatted: FormattedPayload): Record<string, number> {
  if (formatted.kind === 'text') {
    const n = Number(formatted.text.trim());
    return formatted.text.trim() !== '' && Number.isFinite(n) ? { value: n } : {};
  }
  if (formatted.kind !== 'json') return {};
  const value = formatted.value;
  if (typeof value === 'number' && Number.isFinite(value)) return { value };
  const out: Record<string, number> = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return out;
  let fields = 0;
  const add = (name: string, v: unknown) => {
    if (typeof v === 'number' && Number.isFinite(v) && fields < MAX_NUMERIC_FIELDS) {
      out[name] = v;
      fields += 1;
    }
  };
  for (const [key, v] of Object.entries(value)) {
    if (fields >= MAX_NUMERIC_FIELDS) break;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      for (const inner in v) {
        if (fields >= MAX_NUMERIC_FIELDS) break;
        add(`${key}.${inner}`, (v as Record<string, unknown>)[inner]);
      }
    } else add(key, v);
  }
  return out;
}
