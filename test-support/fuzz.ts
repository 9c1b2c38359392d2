import fc from 'fast-check';
import { it } from 'vitest';

/**
 * How long each fuzz target runs. In `make test` a short run: a fixed seed (the same cases every time) and one
 * random seed, which fast-check prints with the counterexample when it fails (`{ seed: N, path: "…" }`), so
 * MQLIVE_FUZZ_SEED=N replays it. `make fuzz` sets MQLIVE_FUZZ_SECONDS for a long run of each target.
 */
export const FUZZ_SECONDS = Number(process.env.MQLIVE_FUZZ_SECONDS ?? 0);
const FIXED_SEED = 20261206;

/**
 * Declares a fuzz target: `it` twice (fixed seed, random or MQLIVE_FUZZ_SEED seed), each `runs` cases in a
 * short run; in a long run, cases until MQLIVE_FUZZ_SECONDS have passed.
 */
export function fuzz<T>(name: string, arbitrary: fc.Arbitrary<T>, check: (value: T) => void | Promise<void>, runs = 200): void {
  const long = FUZZ_SECONDS > 0;
  const parameters = (seed: number | undefined): fc.Parameters<[T]> => ({
    ...(seed !== undefined && { seed }),
    reporter: shortReport,
    numRuns: long ? Number.MAX_SAFE_INTEGER : runs,
    ...(long && { interruptAfterTimeLimit: FUZZ_SECONDS * 1000, markInterruptAsFailure: false }),
  });
  const timeout = long ? FUZZ_SECONDS * 1000 + 60_000 : 60_000;
  const property = fc.asyncProperty(arbitrary, async (value) => check(value));
  it(`${name} (fixed seed)`, () => fc.assert(property, parameters(FIXED_SEED)), timeout);
  const chosen = process.env.MQLIVE_FUZZ_SEED;
  it(`${name} (${chosen ? `seed ${chosen}` : 'random seed'})`, () => fc.assert(property, parameters(chosen ? Number(chosen) : undefined)), timeout);
}

/** The fields contract validators read. */
const CONTRACT_FIELDS = ['x', 'y', 'ts', 'seq', 'button', 'pressed', 'dx', 'dy', 'name', 'kind', 'source', 'screen', 'host', 'version', 'schema', 'startedAt', 'text'];

/**
 * A failure as one short message: the seed and path that replay it, the error, and the counterexample cut to
 * 2,000 characters (a payload can be 100 KB; fast-check's own report prints it whole).
 */
function shortReport<T>(run: fc.RunDetails<T>): void {
  if (!run.failed) return;
  const cut = (text: string) => (text.length > 2000 ? `${text.slice(0, 2000)}… (${text.length} characters)` : text);
  throw new Error(
    `fuzz target failed after ${run.numRuns} cases: replay with MQLIVE_FUZZ_SEED=${run.seed} (path "${run.counterexamplePath}")\n` +
      `error: ${cut(String(run.errorInstance))}\ncounterexample: ${cut(fc.stringify(run.counterexample))}`,
  );
}

/** JSON text of any shape: values of any depth up to `maxDepth`, and raw nesting far past it. */
export function anyJsonText(maxDepth = 12): fc.Arbitrary<string> {
  return fc.oneof(
    fc.jsonValue({ maxDepth }).map((v) => JSON.stringify(v)),
    fc.integer({ min: 1, max: 50_000 }).map((n) => deepJson(n, 'array')),
    // Deep nesting under a field a validator reads (the crash of issue 26 was `{"text": [[[…]]]}`).
    fc.tuple(fc.constantFrom(...CONTRACT_FIELDS), fc.integer({ min: 1, max: 50_000 }), fc.constantFrom('array' as const, 'object' as const)).map(
      ([key, n, kind]) => `{"${key}":${deepJson(n, kind)}}`,
    ),
    fc.tuple(fc.integer({ min: 1, max: 50_000 }), fc.constantFrom('{"a":', '[', '{"text":')).map(([n, open]) => open.repeat(n)),
    fc.string({ unit: 'grapheme', maxLength: 200 }),
  );
}

/** A nested value `depth` deep, built as text (a value this deep cannot be built by recursion either). */
function deepJson(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/**
 * JSON text of a contract payload (move, click, scroll, meta, reply) with one field set to anything: another
 * JSON value, an extreme number, a long string, or a value nested up to 40,000 deep. The shapes a validator
 * sees most from a buggy or hostile publisher.
 */
export function contractPayloadWithOneFieldChanged(): fc.Arbitrary<string> {
  const base = fc.constantFrom<Record<string, unknown>>(
    { x: 1, y: 2, ts: 1, seq: 0 },
    { x: 1, y: 2, button: 'left', pressed: true, ts: 1, seq: 0 },
    { x: 1, y: 2, dx: 0, dy: 1, ts: 1, seq: 0 },
    { name: 'n', kind: 'mouse', source: 'demo', screen: { width: 1, height: 1 }, host: 'h', version: '1', schema: 1, startedAt: 1 },
    { text: 'hi', ts: 1 },
  );
  const value = fc.oneof(
    fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
    fc.constantFrom(String(Number.MAX_VALUE), '-0', '1e308', '""', JSON.stringify('x'.repeat(5000))),
    fc.tuple(fc.integer({ min: 1, max: 40_000 }), fc.constantFrom('array' as const, 'object' as const)).map(([n, kind]) => deepJson(n, kind)),
  );
  const key = fc.constantFrom(...CONTRACT_FIELDS, '__proto__', 'constructor');
  return fc.tuple(base, key, value).map(([payload, k, v]) => {
    const rest = Object.entries(payload).filter(([name]) => name !== k).map(([name, field]) => `${JSON.stringify(name)}:${JSON.stringify(field)}`);
    return `{${[...rest, `${JSON.stringify(k)}:${v}`].join(',')}}`;
  });
}
