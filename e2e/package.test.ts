import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokenLinks, docFiles, repoTree, type DocTree } from '../test-support/docs';
import { connect, Inbox, subscribe } from '../test-support/mqtt';
import { brokerReady, ROOT, spawnProcess, type Spawned } from '../test-support/processes';

// The package as users get it: `npm pack` (which builds), then `npm install ./mqlive-*.tgz` into an empty
// folder that has only Node and npm, then the installed `mqlive` command. npm takes what it already has in its
// cache and asks the registry for the rest.
let work: string;
let tarball: string;
let app: string;
const started: Spawned[] = [];

const mqlive = (args: string[]) => spawnProcess(process.execPath, [join(app, 'node_modules/mqlive/dist/mqlive.js'), ...args], {}, { cwd: app });

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'mqlive-pack-'));
  execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
  app = join(work, 'app');
  execFileSync('mkdir', [app]);
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel', 'error', tarball], { cwd: app, stdio: ['ignore', 'ignore', 'inherit'] });
}, 240_000);

afterAll(async () => {
  for (const p of started) await p.stop('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('the packed mqlive', () => {
  it('holds the compiled command, the built viewer, README, CHANGELOG, LICENSE and docs/, and no sources or tests', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
    expect(files).toContain('package/dist/mqlive.js');
    expect(files).toContain('package/dist/types/device-client.d.ts');
    expect(files).toContain('package/viewer/dist/index.html');
    expect(files).toContain('package/README.md');
    expect(files).toContain('package/LICENSE');
    expect(files).toContain('package/CHANGELOG.md');
    const unexpected = files.filter((f) => !/^package\/(dist\/|viewer\/dist\/|docs\/[\w.-]+\.(md|png|svg)$|package\.json$|README\.md$|CHANGELOG\.md$|LICENSE$)/.test(f));
    expect(unexpected).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    // What the README links to (docs/ pages, the screenshot, the changelog) comes with it.
    const shipped: DocTree = { read: repoTree().read, exists: (path) => files.some((f) => f === `package/${path}` || f.startsWith(`package/${path}/`)) };
    const docs = docFiles().filter((f) => shipped.exists(f));
    expect(docs).toEqual(docFiles());
    expect(brokenLinks(docs, shipped).problems).toEqual([]);
  });

  it('installs as one command: --version, help, and a usage error', async () => {
    const version = mqlive(['--version']);
    expect(await version.exited).toBe(0);
    expect(version.output().trim()).toBe('0.2.0');
    // npx finds the installed command by its bin name.
    const help = spawnProcess('npx', ['--no-install', 'mqlive', 'help'], {}, { cwd: app });
    expect(await help.exited).toBe(0);
    for (const command of ['up', 'broker', 'publisher', 'users']) expect(help.output()).toMatch(new RegExp(`^  ${command} `, 'm'));
    const bad = mqlive(['broker', '--nope']);
    expect(await bad.exited).toBe(2);
    expect(bad.output().trim()).toBe('mqlive broker: unknown option --nope');
  });

  it('runs the broker (viewer at /) and a demo publisher, and its device-client helper imports from the package', async () => {
    const broker = mqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json']);
    started.push(broker);
    const ready = await brokerReady(broker, 20_000);
    const page = await fetch(ready.http);
    expect(await page.text()).toContain('<title>mqlive viewer</title>');

    const viewer = await connect(ready.ws);
    const inbox = new Inbox(viewer);
    await subscribe(viewer, 'devices/#');
    const publisher = mqlive(['publisher', '--url', ready.ws, '--source', 'demo', '--device', 'pkgdemo']);
    started.push(publisher);
    expect(JSON.parse((await inbox.waitFor((m) => m.topic === 'devices/pkgdemo/meta')).text)).toMatchObject({ source: 'demo' });
    await inbox.waitFor((m) => m.topic === 'devices/pkgdemo/mouse/move');

    writeFileSync(
      join(app, 'reading.mjs'),
      [
        "import { connectDevice } from 'mqlive/device-client';",
        `const device = connectDevice({ url: '${ready.mqtt}', device: 'pkgsensor', meta: () => null });`,
        'for (let i = 0; i < 100 && !device.online; i++) await new Promise((r) => setTimeout(r, 50));',
        "await device.publish('devices/pkgsensor/light/lux', '300');",
        'await device.close();',
      ].join('\n'),
    );
    const reading = spawnProcess(process.execPath, ['reading.mjs'], {}, { cwd: app });
    expect(await reading.exited, reading.output()).toBe(0);
    expect(await inbox.waitFor((m) => m.topic === 'devices/pkgsensor/light/lux')).toMatchObject({ text: '300' });

    expect(await publisher.stop('SIGTERM')).toBe(0);
    expect(await broker.stop('SIGTERM')).toBe(0);
    viewer.end(true);
  });
});
