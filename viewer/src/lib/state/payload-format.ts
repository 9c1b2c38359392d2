import { checkDecoded, type CheckedMessage } from '../../../../protocol';

/** A payload from the wire, decoded once; shown always as text, never as HTML (see displayText). */
export type FormattedPayload =
  | { kind: 'json'; text: string; value: unknown }
  | { kind: 'text'; text: string }
  | { kind: 'binary'; text: string; size: number };

const utf8 = new TextDecoder('utf-8', { fatal: true });
const MAX_SHOWN_CHARS = 4000;
const MAX_HEX_BYTES = 64;
/** Plotted fields per topic, nested ones included. */
export const MAX_NUMERIC_FIELDS = 8;

function clip(text: string): string {
  return text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS)}… (${text.length} characters)` : text;
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
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
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

/** What the page shows: JSON pretty-printed, long text clipped. Done on render, not per message. */
export function displayText(payload: FormattedPayload): string {
  if (payload.kind === 'json') return clip(JSON.stringify(payload.value, null, 2));
  return clip(payload.text);
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
