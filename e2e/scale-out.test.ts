import { afterEach, describe, expect, it } from 'vitest';
import { connect, Inbox, subscribe } from '../test-support/mqtt';
import { brokerOnRedis, spawnMqlive, type Spawned } from '../test-support/processes';
import { startRedis } from '../test-support/redis';

// Two broker processes sharing one real Redis (Debian's redis-server, no persistence, on a free port).
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const brokerOn = (redisUrl: string, id: string) => brokerOnRedis(redisUrl, id, cleanup);

function publisher(url: string, device: string): Spawned {
  const p = spawnMqlive(['publisher', '--url', url, '--device', device, '--source', 'demo']);
  cleanup.push(() => p.stop('SIGKILL'));
  return p;
}

/** Redis, instances A and B on it, and a WebSocket viewer on B subscribed to devices/#. */
async function twoInstancesAndViewer() {
  const redis = await startRedis();
  cleanup.push(() => redis.stop());
  const a = await brokerOn(redis.url, 'broker-a');
  const b = await brokerOn(redis.url, 'broker-b');
  const viewer = await connect(b.ws);
  cleanup.push(() => viewer.end(true));
  const inbox = new Inbox(viewer);
  await subscribe(viewer, 'devices/#');
  return { a, b, viewer, inbox };
}

describe('two instances on one Redis', () => {
  it('carry events, retained presence and wills from instance A to a WebSocket viewer on B', async () => {
    const { a, b, inbox } = await twoInstancesAndViewer();
    const p = publisher(a.mqtt, 'across');
    await inbox.waitFor((m) => m.topic === 'devices/across/status' && m.text === 'online', 15_000);
    await inbox.waitFor((m) => m.topic === 'devices/across/mouse/move');

    // Retained messages published on A reach a new subscriber on B.
    const late = await connect(b.mqtt);
    cleanup.push(() => late.end(true));
    const lateInbox = new Inbox(late);
    await subscribe(late, 'devices/across/+');
    expect(await lateInbox.waitFor((m) => m.topic === 'devices/across/meta')).toMatchObject({ retain: true });
    expect(await lateInbox.waitFor((m) => m.topic === 'devices/across/status')).toMatchObject({ text: 'online', retain: true });

    // The will of a publisher on A, killed with SIGKILL, reaches the viewer on B.
    await p.stop('SIGKILL');
    await inbox.waitFor((m) => m.topic === 'devices/across/status' && m.text === 'offline', 10_000);

    const metrics = await (await fetch(b.http + 'metrics')).text();
    expect(metrics).toContain('mqlive_instance_info{id="broker-b"} 1');
  }, 90_000);

  it('instance A stopped: clients of B carry on, and a publisher that moves to B goes on publishing', async () => {
    const { a, b, viewer, inbox } = await twoInstancesAndViewer();
    const onA = publisher(a.mqtt, 'mover');
    await inbox.waitFor((m) => m.topic === 'devices/mover/status' && m.text === 'online', 15_000);

    const code = await a.process.stop('SIGTERM');
    expect(code, a.process.output()).toBe(0);
    await onA.stop('SIGTERM');
    expect(viewer.connected).toBe(true);
    inbox.messages.length = 0;
    publisher(b.mqtt, 'mover');
    await inbox.waitFor((m) => m.topic === 'devices/mover/status' && m.text === 'online', 15_000);
    await inbox.waitFor((m) => m.topic === 'devices/mover/mouse/move');
  }, 90_000);

  // Redis lost while running: e2e/redis-outage.test.ts.
  it('Redis unreachable at start: one clear line and a non-zero exit', async () => {
    const redis = await startRedis();
    const port = redis.port;
    await redis.stop();
    const refused = spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--redis', redis.url]);
    expect(await refused.exited).toBe(1);
    expect(refused.output().trim()).toMatch(new RegExp(`^mqlive broker: cannot reach Redis at redis://127\\.0\\.0\\.1:${port}: .+`));
  }, 30_000);
});
