import { execFileSync } from 'node:child_process';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker } from '../test-support/broker';
import { connect, Inbox, subscribe } from '../test-support/mqtt';
import { spawnMqlive, type Spawned } from '../test-support/processes';
import { requireTool } from '../test-support/tools';
import { startXvfb, type Xvfb } from '../test-support/xvfb';

// Real capture: a real X server (Xvfb), the real uiohook hook in the publisher's child process,
// the pointer driven by xdotool, and what arrives checked by a subscriber on the real broker.
let xvfb: Xvfb;
let env: Awaited<ReturnType<typeof startTestBroker>>;
let viewer: MqttClient;
let inbox: Inbox;
let publisher: Spawned;

const xdotool = (...args: string[]) => execFileSync('xdotool', args, { env: { ...process.env, DISPLAY: xvfb.display } });
const events = (kind: string) =>
  inbox.messages.filter((m) => m.topic === `devices/xtest/mouse/${kind}`).map((m) => JSON.parse(m.text));

beforeAll(async () => {
  requireTool('xdotool', 'xdotool');
  xvfb = await startXvfb(1280, 800);
  env = await startTestBroker();
  viewer = await connect(env.broker.mqttUrl);
  inbox = new Inbox(viewer);
  await subscribe(viewer, 'devices/#');
  publisher = spawnMqlive(['publisher', '--url', env.broker.mqttUrl, '--device', 'xtest', '--source', 'uiohook', '--move-hz', '0', '--log-format', 'json'], {
    DISPLAY: xvfb.display,
  });
  await publisher.waitForEvent('connected', { where: { source: 'uiohook' } });
  await inbox.waitFor((m) => m.topic === 'devices/xtest/meta');
  // The X RECORD hook starts a moment after the capture process does: wiggle (bounded) until it reports.
  for (let i = 0; i < 100 && events('move').length === 0; i++) {
    xdotool('mousemove', String(10 + (i % 2)), '10');
    await new Promise((r) => setTimeout(r, 100));
  }
}, 60_000);

afterAll(async () => {
  await publisher?.stop('SIGTERM');
  viewer?.end(true);
  await env?.broker.close();
  await xvfb?.stop();
});

describe('real capture under Xvfb', () => {
  it('reports the X screen size in meta', async () => {
    const meta = JSON.parse((await inbox.waitFor((m) => m.topic === 'devices/xtest/meta')).text);
    expect(meta).toMatchObject({ source: 'uiohook', kind: 'mouse', screen: { width: 1280, height: 800 } });
  });

  it('xdotool mousemove 100 200 click 1 arrives as a move to (100, 200) and a left press and release there', async () => {
    xdotool('mousemove', '100', '200', 'click', '1');
    await inbox.waitFor((m) => m.topic === 'devices/xtest/mouse/click' && JSON.parse(m.text).pressed === false);
    expect(events('move').at(-1)).toMatchObject({ x: 100, y: 200 });
    expect(events('click')).toEqual([
      expect.objectContaining({ x: 100, y: 200, button: 'left', pressed: true }),
      expect.objectContaining({ x: 100, y: 200, button: 'left', pressed: false }),
    ]);
    // Said once, at the press (one line per click, not per press and release: publisher/publisher.test.ts).
    await publisher.waitForEvent('click', { where: { button: 'left', x: 100, y: 200 } });
  });

  it('names the right button (X button 3) and gives scroll notches pynput signs', async () => {
    xdotool('mousemove', '640', '400', 'click', '3', 'click', '4', 'click', '5', 'click', '5');
    await inbox.waitFor(() => events('scroll').length >= 3);
    expect(events('click').slice(-2)).toEqual([
      expect.objectContaining({ x: 640, y: 400, button: 'right', pressed: true }),
      expect.objectContaining({ x: 640, y: 400, button: 'right', pressed: false }),
    ]);
    // X button 4 is wheel up, 5 is wheel down
    expect(events('scroll').map(({ dx, dy, x, y }) => ({ dx, dy, x, y }))).toEqual([
      { dx: 0, dy: 1, x: 640, y: 400 },
      { dx: 0, dy: -1, x: 640, y: 400 },
      { dx: 0, dy: -1, x: 640, y: 400 },
    ]);
  });

  it('numbers every event in order with one seq across topics, stamped with the capture time', () => {
    const all = inbox.messages.filter((m) => m.topic.startsWith('devices/xtest/mouse/')).map((m) => JSON.parse(m.text));
    const seqs = all.map((e) => e.seq).sort((a, b) => a - b);
    expect(seqs).toEqual([...Array(seqs.length).keys()]);
    for (const e of all) expect(Math.abs(Date.now() - e.ts)).toBeLessThan(60_000);
  });
});

describe('capture in a Wayland session (XWayland played by Xvfb)', () => {
  it('says in one line what XWayland cannot see and that --source evdev captures everything, then captures', async () => {
    const p = spawnMqlive(['publisher', '--url', env.broker.mqttUrl, '--device', 'wayland', '--source', 'uiohook'], {
      DISPLAY: xvfb.display,
      WAYLAND_DISPLAY: 'wayland-0',
    });
    try {
      await p.waitForOutput(/Connected to .* \(source: uiohook\)/);
      expect(p.output().split('\n')[0]).toBe(
        'Wayland session: uiohook captures through XWayland, which sees the pointer only over X11 windows; --source evdev captures everything (it needs read access to /dev/input)',
      );
    } finally {
      expect(await p.stop('SIGTERM')).toBe(0);
    }
  });
});

describe('capture without a display', () => {
  it('--source uiohook with no display fails with a clear message and exit code 3, not an abort', async () => {
    const p = spawnMqlive(['publisher', '--url', env.broker.mqttUrl, '--device', 'nodisplay', '--source', 'uiohook'], { DISPLAY: '' });
    expect(await p.exited).toBe(3);
    expect(p.output().trim()).toBe(
      'mqlive publisher: no X display: DISPLAY is not set (uiohook needs X11 or XWayland). Start an X server, set DISPLAY, or use --source demo.',
    );
  });

  it('--source uiohook with a display nobody serves names the display', async () => {
    const p = spawnMqlive(['publisher', '--url', env.broker.mqttUrl, '--source', 'uiohook'], { DISPLAY: ':4999' });
    expect(await p.exited).toBe(3);
    expect(p.output()).toMatch(/^mqlive publisher: cannot reach X display :4999 \(ENOENT\)/);
  });
});

describe('uiohook-napi with no build for this machine', () => {
  // npm_config_arch=arm makes node-gyp-build look for a 32-bit ARM build, which uiohook-napi does not ship:
  // the compiled publisher meets what it would meet on a 32-bit Raspberry Pi, with a working display.
  const noBuild = { npm_config_arch: 'arm', ARM_VERSION: '7' };

  it('auto says why and captures with the next source', async () => {
    const p = spawnMqlive(['publisher', '--url', env.broker.mqttUrl, '--device', 'nobuild', '--log-format', 'json'], { DISPLAY: xvfb.display, ...noBuild });
    try {
      await p.waitForEvent('connected', { where: { device: 'nobuild', source: 'demo' }, timeoutMs: 20_000 });
      const [source] = p.events('source');
      expect(source).toMatchObject({ source: 'demo', why: 'auto' });
      // Then evdev, whose reason depends on the machine's /dev/input.
      expect((source!.unavailable as unknown[])[0]).toEqual({ source: 'uiohook', problem: expect.stringMatching(/^uiohook-napi does not load on this machine \(linux-x64\): No native build was found for platform=linux arch=arm /) });
      expect(source!.msg).toMatch(/^Cannot capture with uiohook \(uiohook-napi does not load/); // the same line people read
    } finally {
      await p.stop('SIGTERM');
    }
  });

  it('--source uiohook exits 3 with the reason', async () => {
    const p = spawnMqlive(['publisher', '--url', env.broker.mqttUrl, '--source', 'uiohook'], { DISPLAY: xvfb.display, ...noBuild });
    expect(await p.exited).toBe(3);
    expect(p.output()).toMatch(/^mqlive publisher: uiohook-napi does not load on this machine \(linux-x64\): No native build was found for platform=linux arch=arm /);
  });
});
