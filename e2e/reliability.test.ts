import { execFileSync } from 'node:child_process';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestBroker } from '../test-support/broker';
import { closed, connect, Inbox, subscribe, type Received } from '../test-support/mqtt';
import { freePort } from '../test-support/ports';
import { brokerReady, spawnMqlive, type Spawned } from '../test-support/processes';
import { startTcpProxy } from '../test-support/tcp-proxy';
import { startXvfb } from '../test-support/xvfb';

// Faults with real processes: each test fails if the behaviour it names regresses.
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function startBrokerProcess(mqttPort: number, httpPort: number): Spawned {
  const broker = spawnMqlive(['broker', '--mqtt-port', String(mqttPort), '--http-port', String(httpPort), '--log-format', 'json']);
  cleanup.push(() => broker.stop('SIGKILL'));
  return broker;
}

async function xvfbWithXdotool(display?: string) {
  const xvfb = await startXvfb(1280, 800, display);
  cleanup.push(() => xvfb.stop());
  const xdotool = (...args: string[]) => execFileSync('xdotool', args, { env: { ...process.env, DISPLAY: xvfb.display } });
  return { xvfb, xdotool };
}

function startPublisher(url: string, device: string, display: string, extra: string[] = []): Spawned {
  const p = spawnMqlive(['publisher', '--url', url, '--device', device, '--source', 'uiohook', '--move-hz', '0', '--log-format', 'json', ...extra], { DISPLAY: display });
  cleanup.push(() => p.stop('SIGKILL'));
  return p;
}

/** Moves the pointer (bounded) until the X RECORD hook reports a move: it starts a moment after its process. */
async function warmUp(xdotool: (...args: string[]) => void, inbox: Inbox, device: string): Promise<void> {
  for (let i = 0; i < 100 && !inbox.messages.some((m) => m.topic === `devices/${device}/mouse/move`); i++) {
    xdotool('mousemove', String(5 + (i % 2)), '5');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const parsed = (messages: Received[], topic: string) => messages.filter((m) => m.topic === topic).map((m) => JSON.parse(m.text));

describe('faults', () => {
  it('broker restart: publisher and viewer reconnect by themselves; clicks made meanwhile arrive after, in order, once', async () => {
    const { xvfb, xdotool } = await xvfbWithXdotool();
    const mqttPort = await freePort();
    const httpPort = await freePort();
    let broker = startBrokerProcess(mqttPort, httpPort);
    await brokerReady(broker);
    // The publisher reaches the broker through a proxy, so the test can let it back in after the viewer.
    const proxy = await startTcpProxy(mqttPort);
    cleanup.push(() => proxy.close());
    const viewer = await connect(`ws://127.0.0.1:${httpPort}/mqtt`, { reconnectPeriod: 300 });
    cleanup.push(() => viewer.end(true));
    const inbox = new Inbox(viewer);
    await subscribe(viewer, 'devices/#');
    const publisher = startPublisher(`mqtt://127.0.0.1:${proxy.port}`, 'rel', xvfb.display);
    await inbox.waitFor((m) => m.topic === 'devices/rel/status' && m.text === 'online', 20_000);
    await warmUp(xdotool, inbox, 'rel');

    expect(await broker.stop('SIGTERM')).toBe(0);
    await publisher.waitForEvent('connection_problem', { where: { reason: 'unreachable' } });
    xdotool('mousemove', '100', '100', 'click', '1');
    xdotool('mousemove', '200', '200', 'click', '3');
    xdotool('mousemove', '300', '300', 'click', '1');
    await publisher.waitForEvent('click', { where: { button: 'left', x: 300, y: 300 } });
    proxy.setMode('refuse');

    inbox.messages.length = 0;
    broker = startBrokerProcess(mqttPort, httpPort);
    await brokerReady(broker);
    await expect.poll(() => viewer.connected, { timeout: 10_000 }).toBe(true);
    await viewer.subscribeAsync('probe/after-resubscribe'); // SUBACKs come in order: the resubscription is in place
    proxy.setMode('forward');

    await inbox.waitFor((m) => m.topic === 'devices/rel/status' && m.text === 'online', 15_000);
    await inbox.waitFor((m) => m.topic === 'devices/rel/meta');
    const clicks = await inbox.waitForCount('devices/rel/mouse/click', 6, 15_000).then((ms) => ms.map((m) => JSON.parse(m.text)));
    expect(clicks.map((c) => [c.x, c.y, c.button, c.pressed])).toEqual([
      [100, 100, 'left', true],
      [100, 100, 'left', false],
      [200, 200, 'right', true],
      [200, 200, 'right', false],
      [300, 300, 'left', true],
      [300, 300, 'left', false],
    ]);
    const seqs = clicks.map((c) => c.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(6);
    // After the queue, live events flow again.
    xdotool('mousemove', '400', '400', 'click', '2');
    await inbox.waitFor((m) => m.topic === 'devices/rel/mouse/click' && JSON.parse(m.text).button === 'middle');
  }, 120_000);

  it('a path that goes dead without a FIN: keep-alive notices on both sides, the will fires, both reconnect when it is back', async () => {
    const { broker } = await startTestBroker();
    cleanup.push(() => broker.close());
    const proxy = await startTcpProxy(broker.mqttPort);
    cleanup.push(() => proxy.close());
    const viewer = await connect(broker.wsUrl);
    cleanup.push(() => viewer.end(true));
    const inbox = new Inbox(viewer);
    await subscribe(viewer, 'devices/+/status');
    const publisher = spawnMqlive(['publisher', '--url', `mqtt://127.0.0.1:${proxy.port}`, '--device', 'cut', '--source', 'demo', '--keepalive', '2', '--log-format', 'json']);
    cleanup.push(() => publisher.stop('SIGKILL'));
    await inbox.waitFor((m) => m.topic === 'devices/cut/status' && m.text === 'online', 15_000);

    proxy.setMode('blackhole');
    // The broker gives a client 1.5 keep-alive periods (3 s here), then publishes its will.
    await inbox.waitFor((m) => m.topic === 'devices/cut/status' && m.text === 'offline', 10_000);
    await publisher.waitForEvent('connection_problem', { where: { reason: 'unreachable' }, timeoutMs: 15_000 });

    inbox.messages.length = 0;
    proxy.setMode('forward');
    await inbox.waitFor((m) => m.topic === 'devices/cut/status' && m.text === 'online', 15_000);
  }, 60_000);

  it('the capture process crashes, then the X display goes away: the publisher stays connected, says so in meta, and resumes', async () => {
    const { xvfb, xdotool } = await xvfbWithXdotool();
    const { broker } = await startTestBroker();
    cleanup.push(() => broker.close());
    const viewer = await connect(broker.mqttUrl);
    cleanup.push(() => viewer.end(true));
    const inbox = new Inbox(viewer);
    await subscribe(viewer, 'devices/cap/#');
    const publisher = startPublisher(broker.mqttUrl, 'cap', xvfb.display);
    await inbox.waitFor((m) => m.topic === 'devices/cap/meta', 20_000);
    await warmUp(xdotool, inbox, 'cap');
    const metas = () => parsed(inbox.messages, 'devices/cap/meta');

    // 1. The capture child dies.
    // Its PID, asked for until it is there (bounded): once, under load, pgrep found none at the first ask.
    const childOf = (pid: number) => {
      try {
        return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n')[0]!;
      } catch {
        return '';
      }
    };
    await expect.poll(() => childOf(publisher.child.pid!), { timeout: 15_000 }).not.toBe('');
    process.kill(Number(childOf(publisher.child.pid!)), 'SIGKILL');
    expect((await publisher.waitForEvent('capture_stopped')).problem).toMatch(/killed by SIGKILL/);
    await inbox.waitFor(() => metas().some((m) => m.capture?.running === false && /killed by SIGKILL/.test(m.capture.problem)));
    await publisher.waitForEvent('capture_running', { timeoutMs: 15_000 });
    await inbox.waitFor(() => metas().at(-1)?.capture?.running === true);
    inbox.messages.length = 0;
    await warmUp(xdotool, inbox, 'cap');
    xdotool('mousemove', '50', '60', 'click', '1');
    await inbox.waitFor((m) => m.topic === 'devices/cap/mouse/click');

    // 2. The X server goes away, and comes back on the same display.
    const display = xvfb.display;
    await xvfb.stop();
    await inbox.waitFor(() => metas().some((m) => m.capture?.running === false), 15_000);
    const again = await xvfbWithXdotool(display);
    await publisher.waitForEvent('capture_running', { timeoutMs: 40_000 }); // the next one: after the X server came back
    inbox.messages.length = 0;
    await warmUp(again.xdotool, inbox, 'cap');
    again.xdotool('mousemove', '70', '80', 'click', '1');
    await inbox.waitFor((m) => m.topic === 'devices/cap/mouse/click');
    expect(inbox.messages.some((m) => m.topic === 'devices/cap/status' && m.text === 'offline')).toBe(false);
  }, 120_000);

  it('SIGTERM with 100 clients: the broker exits 0, every client sees it, and all reconnect to a new broker', async () => {
    const mqttPort = await freePort();
    const httpPort = await freePort();
    const broker = startBrokerProcess(mqttPort, httpPort);
    await brokerReady(broker);
    const clients: MqttClient[] = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        connect(i % 2 ? `mqtt://127.0.0.1:${mqttPort}` : `ws://127.0.0.1:${httpPort}/mqtt`, { reconnectPeriod: 500 }),
      ),
    );
    cleanup.push(() => clients.forEach((c) => c.end(true)));
    const disconnected = clients.map(closed);
    expect(await broker.stop('SIGTERM')).toBe(0);
    await Promise.all(disconnected);
    const next = startBrokerProcess(mqttPort, httpPort);
    await brokerReady(next);
    await expect.poll(() => clients.filter((c) => c.connected).length, { timeout: 15_000 }).toBe(100);
  }, 60_000);
});
