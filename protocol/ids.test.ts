import { describe, expect, it } from 'vitest';
import { assertId, idProblem, InvalidIdError, sanitizeId } from './ids';

describe('id rule', () => {
  it('accepts letters, digits, _ and - up to 64 characters', () => {
    for (const id of ['a', 'laptop', 'Desk_2', 'pi-4', 'x'.repeat(64), '0', '_-_']) {
      expect(idProblem(id)).toBeNull();
    }
  });

  it('refuses wildcards, separators, empty and too long ids with a reason that names the problem', () => {
    expect(idProblem('a+b')).toMatch(/'\+' \(an MQTT wildcard\)/);
    expect(idProblem('#')).toMatch(/'#' \(an MQTT wildcard\)/);
    expect(idProblem('a/b')).toMatch(/topic level separator/);
    expect(idProblem('')).toMatch(/empty/);
    expect(idProblem('x'.repeat(65))).toMatch(/at most 64/);
    expect(idProblem('café')).toMatch(/'é'/);
    expect(idProblem(' ')).toMatch(/' '/);
    expect(idProblem(42)).toMatch(/string/);
  });

  it('assertId throws an InvalidIdError that says what kind of id and why', () => {
    expect(assertId('ok')).toBe('ok');
    expect(() => assertId('a/b', 'client')).toThrow(InvalidIdError);
    expect(() => assertId('a/b', 'client')).toThrow(/invalid client id "a\/b"/);
  });

  it('agrees with the pattern on random strings', () => {
    const alphabet = 'aZ09_-+#/ .é\u0000';
    for (let i = 0; i < 2000; i++) {
      const len = Math.floor(Math.random() * 70);
      let id = '';
      for (let j = 0; j < len; j++) id += alphabet[Math.floor(Math.random() * alphabet.length)];
      expect(idProblem(id) === null).toBe(/^[A-Za-z0-9_-]{1,64}$/.test(id));
    }
  });

  it('sanitizes any name into a valid id', () => {
    expect(sanitizeId('my-laptop.local')).toBe('my-laptop-local');
    expect(sanitizeId('...')).toBe('device');
    expect(sanitizeId('Δ'.repeat(10), 'host')).toBe('host');
    expect(sanitizeId('a'.repeat(100))).toHaveLength(64);
    for (let i = 0; i < 500; i++) {
      const name = Array.from({ length: Math.floor(Math.random() * 80) }, () =>
        String.fromCharCode(32 + Math.floor(Math.random() * 200)),
      ).join('');
      expect(idProblem(sanitizeId(name))).toBeNull();
    }
  });
});
