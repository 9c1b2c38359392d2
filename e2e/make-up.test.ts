import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, Inbox, subscribe } from '../test-support/mqtt';
import { freePort } from '../test-support/ports';
import { spawnProcess, type Spawned } from '../test-support/processes';
import { copyRepo } from '../test-support/repo-copy';

// `make up` in a fresh copy of the repository (the files git would clone: no node_modules, no build),
// with no X display, as a newcomer runs it. The later tests reuse the copy the first one installed.
let dir: string;
let up: Spawned;
let mqttPort: number;
let httpPort: number;

function processesIn(folder: string): string[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps.split('\n').filter((line) => line.includes(folder) && !line.includes('ps -eo'));
}

beforeAll(() => {
  dir = copyRepo('mqlive-up-');
});

afterAll(async () => {
  await up?.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('make up', () => {
  it('installs, builds, starts broker and demo publisher, serves the viewer, and stops cleanly on Ctrl-C', async () => {
    mqttPort = await freePort();
    httpPort = await freePort();
    up = spawnProcess('make', ['-C', dir, 'up', `MQTT_PORT=${mqttPort}`, `HTTP_PORT=${httpPort}`, 'DEVICE=uptest'], { DISPLAY: '' }, { detached: true });
    await up.waitForOutput(/Stop: +Ctrl-C/, 240_000);
    expect(up.output()).toContain(`Viewer:  http://127.0.0.1:${httpPort}/`);
    expect(up.output()).toContain(`mosquitto_sub -h 127.0.0.1 -p ${mqttPort} -t 'devices/#' -v`);
    await up.waitForOutput(/\[publisher\] Cannot capture with uiohook .*; using the demo source instead\./);

    const viewer = await connect(`mqtt://127.0.0.1:${mqttPort}`);
    const inbox = new Inbox(viewer);
    await subscribe(viewer, 'devices/uptest/#');
    expect(await inbox.waitFor((m) => m.topic === 'devices/uptest/status')).toMatchObject({ text: 'online' });
    await inbox.waitFor((m) => m.topic === 'devices/uptest/mouse/move');
    // make up runs the compiled command: no TypeScript loader in any of its processes.
    const running = processesIn(dir);
    expect(running.some((line) => /dist\/mqlive\.js broker /.test(line)), running.join('\n')).toBe(true);
    expect(running.some((line) => /dist\/mqlive\.js publisher /.test(line)), running.join('\n')).toBe(true);
    expect(running.filter((line) => /tsx/.test(line))).toEqual([]);
    const page = await fetch(`http://127.0.0.1:${httpPort}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>mqlive viewer</title>');

    // Ctrl-C in a terminal signals the whole foreground process group. The supervisor stops the parts
    // and exits 0; make itself then reports the interrupt the way it does for any Ctrl-C.
    process.kill(-up.child.pid!, 'SIGINT');
    expect(['SIGINT', 0]).toContain(await up.exited);
    expect(up.output()).toContain('mqlive stopped: publisher and broker have exited.');
    // Each part says what stopped it: the Ctrl-C, not a SIGTERM the person never sent.
    expect(up.output()).toMatch(/\[publisher\] SIGINT: publishing offline and stopping/);
    expect(up.output()).not.toMatch(/SIGTERM/);
    await inbox.waitFor((m) => m.topic === 'devices/uptest/status' && m.text === 'offline');
    viewer.end(true);
    await expect.poll(() => processesIn(dir)).toEqual([]);
  }, 300_000);

  it('exits 0 on SIGTERM, and when one part dies stops the other with an exit code naming it', async () => {
    const supervise = () =>
      spawnProcess(process.execPath, [join(dir, 'dist/mqlive.js'), 'up', '--mqtt-port', '0', '--http-port', '0', '--source', 'demo', '--device', 'uptest2'], {}, { cwd: dir });
    const first = supervise();
    await first.waitForOutput(/Connected to .* as device "uptest2"/, 30_000);
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(processesIn(dir)).toEqual([]);

    const second = supervise();
    await second.waitForOutput(/Connected to .* as device "uptest2"/, 30_000);
    const publisher = processesIn(dir).find((line) => /mqlive\.js publisher /.test(line))!;
    process.kill(Number(publisher.trim().split(/\s+/)[0]), 'SIGKILL');
    expect(await second.exited).toBe(12);
    expect(second.output()).toMatch(/mqlive up: the publisher stopped \(SIGKILL\); stopping the rest/);
    await expect.poll(() => processesIn(dir)).toEqual([]);
  }, 120_000);

  it('checks every flag of every part before anything starts: a bad SOURCE is one line, exit 2, no banner (issue 29, item 7)', async () => {
    const viaMake = spawnProcess(process.execPath, [join(dir, 'dist/mqlive.js'), 'up', '--mqtt-port', '0', '--http-port', '0', '--source', 'foo'], { MQLIVE_VIA_MAKE: '1' }, { cwd: dir });
    expect(await viaMake.exited).toBe(2);
    expect(viaMake.output().trim()).toBe('mqlive up: SOURCE must be one of auto, uiohook, evdev, demo, replay:FILE (got "foo")');
    const direct = spawnProcess(process.execPath, [join(dir, 'dist/mqlive.js'), 'up', '--mqtt-port', '0', '--http-port', '0', '--source', 'replay'], {}, { cwd: dir });
    expect(await direct.exited).toBe(2);
    expect(direct.output().trim()).toBe('mqlive up: --source replay needs FILE: --source replay:FILE');
    expect(processesIn(dir)).toEqual([]);
  });

  it('says in one line which port is in use and the make variable that changes it', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      // Through make, the line names the make variable; run directly, the flag.
      const viaMake = spawnProcess(process.execPath, [join(dir, 'dist/mqlive.js'), 'up', '--mqtt-port', '0', '--http-port', String(port)], { MQLIVE_VIA_MAKE: '1' }, { cwd: dir });
      expect(await viaMake.exited).toBe(1);
      // The port suggested is one free now (e2e/ports-in-use.test.ts holds the next one too).
      expect(viaMake.output().trim()).toMatch(new RegExp(`^mqlive up: port ${port} on 127\\.0\\.0\\.1 is already in use: stop what holds it, or choose another with HTTP_PORT=\\d+ \\(free now\\)$`));
      const direct = spawnProcess(process.execPath, [join(dir, 'dist/mqlive.js'), 'up', '--mqtt-port', '0', '--http-port', String(port)], {}, { cwd: dir });
      expect(await direct.exited).toBe(1);
      expect(direct.output().trim()).toMatch(new RegExp(`^mqlive up: port ${port} on 127\\.0\\.0\\.1 is already in use: stop what holds it, or choose another with --http-port \\d+ \\(free now\\)$`));
    } finally {
      blocker.close();
    }
  });
});
