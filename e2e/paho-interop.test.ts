import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerReady, spawnMqlive, type Spawned } from '../test-support/processes';
import { PAHO_TIMEOUT_MS, pahoTable, pahoTestNames, runPahoSuite, runPahoTest, type PahoSuite, type PahoTarget } from '../test-support/paho-interop';
import { requireTool } from '../test-support/tools';

// Issue 27: Eclipse Paho's MQTT interoperability suites (third_party/paho-interop/) against the compiled broker.
// Each test runs in its own python3 process with a time limit; the suite's tests share client ids and topics, so
// tests run side by side only on brokers of their own: four lanes, since the tests mostly sleep (the suite's own
// waits), which keeps the suites near 2 minutes on this 2-core machine. The 3.1.1 suite's subscribe-failure test
// needs a broker that refuses subscriptions to `test/nosubscribe`: the brokers get that ACL rule.
// For reference (one test a process, same runner): Mosquitto 2.0.11 with its default config passes 21 of 27
// MQTT 5 tests, 22 with `max_keepalive 60`; mqlive 24 (docs/mqtt5.md).

const dir = mkdtempSync(join(tmpdir(), 'mqlive-paho-'));
const acl = join(dir, 'acl.json');
writeFileSync(acl, JSON.stringify({ rules: [{ effect: 'deny', action: 'subscribe', topic: 'test/nosubscribe' }] }));

const brokers: Spawned[] = [];

async function startBroker(args: string[] = ['--acl', acl]): Promise<PahoTarget & { broker: Spawned }> {
  const broker = spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', ...args]);
  brokers.push(broker);
  return { host: '127.0.0.1', port: Number(new URL((await brokerReady(broker, 20_000)).mqtt).port), broker };
}

let lanes: PahoTarget[];

beforeAll(async () => {
  requireTool('python3', 'python3');
  lanes = await Promise.all([startBroker(), startBroker(), startBroker(), startBroker()]);
});

afterAll(async () => {
  await Promise.all(brokers.map((b) => b.stop('SIGKILL')));
  rmSync(dir, { recursive: true, force: true });
});

async function score(suite: PahoSuite) {
  const results = await runPahoSuite(suite, lanes);
  return { results, passed: results.filter((r) => r.outcome === 'pass').length, table: pahoTable(suite, results, { tails: true }) };
}

describe('Eclipse Paho interoperability suites against mqlive', () => {
  it('the vendored suites are whole: 10 MQTT 3.1.1 tests, 27 MQTT 5 tests', () => {
    expect(pahoTestNames('v311')).toHaveLength(10);
    expect(pahoTestNames('v5')).toHaveLength(27);
  });

  it('the runner counts a failed test and a test past its time limit as failures', async () => {
    // Without the deny rule the broker grants test/nosubscribe, and the suite's subscribe-failure test fails.
    const bare = await startBroker([]);
    const [failed, late] = await Promise.all([runPahoTest('v311', 'test_subscribe_failure', bare, PAHO_TIMEOUT_MS), runPahoTest('v311', 'test_keepalive', lanes[0]!, 1000)]);
    await bare.broker.stop('SIGKILL');
    expect(failed).toMatchObject({ outcome: 'fail' });
    expect(failed.tail).toMatch(/FAIL/);
    expect(late).toMatchObject({ outcome: 'timeout' });
  }, 60_000);

  it('MQTT 3.1.1 (client_test.py): 10 of 10', async () => {
    const { passed, table } = await score('v311');
    expect(passed, table).toBe(10);
  }, 300_000);

  it('MQTT 5.0 (client_test5.py): at least 22 of 27, more than Mosquitto', async () => {
    const { passed, table } = await score('v5');
    expect(passed, table).toBeGreaterThanOrEqual(22);
  }, 600_000);
});
