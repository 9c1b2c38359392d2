/**
 * `npm run paho -- --port 1883`: Eclipse Paho's MQTT interoperability suites against any broker, a table of
 * pass / fail / timeout per test. To compare brokers, run it against each (Mosquitto, mqlive, ...).
 * The 3.1.1 suite's subscribe-failure test needs the broker to refuse subscriptions to `test/nosubscribe`.
 */
import { optionLines, parseOptions, parseWholeNumber, UsageError, type OptionSpec } from '../cli/options';
import { PAHO_SUITES, PAHO_TIMEOUT_MS, pahoTable, runPahoSuite, type PahoSuite, type PahoTarget } from './paho-interop';

const OPTIONS = {
  host: { env: 'PAHO_HOST', type: 'string', help: 'the broker (default 127.0.0.1)' },
  port: {
    env: 'PAHO_PORT',
    type: 'list',
    help: 'its MQTT port (default 1883); several --port (brokers alike, each on its own port) run that many tests at a time, one per broker',
  },
  suite: { env: 'PAHO_SUITE', type: 'string', help: 'v5, v311 or both (default both)' },
  test: { env: 'PAHO_TEST', type: 'list', help: 'run only this test' },
  'timeout-ms': { env: 'PAHO_TIMEOUT_MS', type: 'string', help: "each test's time limit; past it the test counts as failed (default 45000)" },
  tails: { env: 'PAHO_TAILS', type: 'flag', help: 'print the last lines of output of each test that did not pass' },
  help: { env: '', type: 'flag', help: 'this help' },
} satisfies Record<string, OptionSpec>;

function parse(argv: string[]) {
  const o = parseOptions(OPTIONS, argv, process.env);
  const host = o.host ?? '127.0.0.1';
  const ports = (o.port ?? ['1883']).map((p) => parseWholeNumber(p, 'port')!);
  if (ports.some((p) => p > 65535)) throw new UsageError('--port must be a port number from 1 to 65535');
  const suite = o.suite ?? 'both';
  if (suite !== 'both' && !(suite in PAHO_SUITES)) throw new UsageError(`--suite must be v5, v311 or both (got "${suite}")`);
  const suites = suite === 'both' ? (['v311', 'v5'] as PahoSuite[]) : [suite as PahoSuite];
  const timeoutMs = parseWholeNumber(o['timeout-ms'], 'timeout-ms') ?? PAHO_TIMEOUT_MS;
  const targets: PahoTarget[] = ports.map((port) => ({ host, port }));
  return { help: o.help ?? false, suites, targets, timeoutMs, only: o.test, tails: o.tails ?? false };
}

async function main() {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`paho: ${error.message} (--help lists the options)`);
    process.exit(2);
  }
  if (args.help) {
    console.log(`npm run paho -- [options]: Eclipse Paho's MQTT interoperability suites against a broker\n\n${optionLines(OPTIONS)}`);
    return;
  }
  for (const suite of args.suites) {
    const results = await runPahoSuite(suite, args.targets, {
      timeoutMs: args.timeoutMs,
      only: args.only,
      onResult: (r) => console.error(`${suite} ${r.test}: ${r.outcome}`),
    });
    console.log(pahoTable(suite, results, { tails: args.tails }));
  }
}

await main();
