import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { anyJsonText, contractPayloadWithOneFieldChanged, fuzz } from '../test-support/fuzz';
import { checkDecoded, checkMessage, CONTRACT } from './contract';

// Fuzz target: every contract validator, through checkMessage (bytes) and checkDecoded (parsed values), with
// JSON of any depth, size and keys, and with bytes that are not text at all. A verdict, never a throw.
const topics = Object.keys(CONTRACT).map((pattern) => pattern.replace('+', 'fuzz'));
const encoder = new TextEncoder();


function verdictOf(topic: string, bytes: Uint8Array): void {
  const result = checkMessage(topic, bytes);
  expect(typeof result.ok).toBe('boolean');
  if (!result.ok) expect(result.reason.length).toBeLessThan(300); // a reason names the problem, it never echoes the payload
}

describe('contract validators (fuzz)', () => {
  fuzz('any JSON text on any contract topic', fc.tuple(fc.constantFrom(...topics), anyJsonText()), ([topic, text]) => verdictOf(topic, encoder.encode(text)), 300);
  fuzz('any bytes on any contract topic', fc.tuple(fc.constantFrom(...topics), fc.uint8Array({ maxLength: 512 })), ([topic, bytes]) => verdictOf(topic, bytes), 300);
  fuzz('contract payloads with one field changed to anything', fc.tuple(fc.constantFrom(...topics), contractPayloadWithOneFieldChanged()), ([topic, text]) => {
    verdictOf(topic, encoder.encode(text));
    const value: unknown = JSON.parse(text);
    expect(typeof checkDecoded(topic, text, value).ok).toBe('boolean');
  }, 500);
});
