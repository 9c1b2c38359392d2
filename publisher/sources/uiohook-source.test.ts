import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { MAC_PERMISSION_LINE, SCREEN_COMMANDS, WAYLAND_LINE } from './platform';
import type { SourceContext } from './source';
import { checkAddonLoads, UiohookSource } from './uiohook-source';
import { sourceContext } from '../../test-support/source-context';

// macOS, Windows and Wayland cannot run here: the platform, the environment and the command runner are
// injected, and the X probe fails the test if a platform that has no X calls it.
function context(overrides: Partial<SourceContext> = {}) {
  const commands: string[] = [];
  const run: SourceContext['run'] = async (file) => (commands.push(file), '1512x982\n');
  const probeX11 = async () => Promise.reject(new Error('the X probe must not run here'));
  return { ...sourceContext({ run, probeX11, ...overrides }), commands };
}

describe('uiohook per platform', () => {
  it('opens on macOS without an X probe, with the screen in points from osascript', async () => {
    const { ctx, lines, commands } = context({ platform: 'darwin', env: { DISPLAY: ':0' } });
    const source = await UiohookSource.open(ctx);
    expect(source.screen).toEqual({ width: 1512, height: 982 });
    expect(source.screenFrom).toBe('platform');
    expect(commands).toEqual(['osascript']);
    expect(lines).toEqual([]);
  });

  it('opens on Windows without an X probe, with the virtual screen from PowerShell', async () => {
    const { ctx, commands } = context({ platform: 'win32', run: async (file) => (commands.push(file), '3840x1080\r\n') });
    const source = await UiohookSource.open(ctx);
    expect(source.screen).toEqual({ width: 3840, height: 1080 });
    expect(commands).toEqual(['powershell.exe']);
    expect(SCREEN_COMMANDS.win32![1].join(' ')).toMatch(/SetProcessDPIAware.*GetSystemMetrics\(78\).*GetSystemMetrics\(79\)/);
  });

  it('gives screen: null and one line when the size command fails or answers nonsense, and still opens', async () => {
    const failing = context({ platform: 'darwin', run: async () => Promise.reject(Object.assign(new Error('spawn osascript ENOENT'), { code: 'ENOENT' })) });
    const source = await UiohookSource.open(failing.ctx);
    expect(source.screen).toBeNull();
    expect(failing.lines).toEqual(['uiohook: could not read the screen size (osascript: ENOENT); meta says screen: null']);
    const odd = context({ platform: 'win32', run: async () => 'Access denied' });
    expect((await UiohookSource.open(odd.ctx)).screen).toBeNull();
    expect(odd.lines).toEqual(['uiohook: could not read the screen size (powershell.exe said "Access denied"); meta says screen: null']);
  });

  it('on Linux probes X, and in a Wayland session says what XWayland cannot see', async () => {
    const x11 = async () => ({ width: 1280, height: 800 });
    for (const env of [{ WAYLAND_DISPLAY: 'wayland-0', DISPLAY: ':0' }, { XDG_SESSION_TYPE: 'wayland', DISPLAY: ':0' }]) {
      const { ctx, lines } = context({ env, probeX11: x11 });
      expect((await UiohookSource.open(ctx)).screen).toEqual({ width: 1280, height: 800 });
      expect(lines).toEqual([WAYLAND_LINE]);
    }
    const plain = context({ env: { XDG_SESSION_TYPE: 'x11', DISPLAY: ':0' }, probeX11: x11 });
    await UiohookSource.open(plain.ctx);
    expect(plain.lines).toEqual([]);
    expect(WAYLAND_LINE).toMatch(/XWayland.*only over X11 windows.*--source evdev captures everything.*read access to \/dev\/input/);
  });

  it('on Linux without a display fails with the probe error', async () => {
    const { ctx } = context({ probeX11: async () => Promise.reject(new Error('no X display: DISPLAY is not set')) });
    await expect(UiohookSource.open(ctx)).rejects.toThrow('no X display: DISPLAY is not set');
  });

  it('has no build on other platforms', async () => {
    await expect(UiohookSource.open(context({ platform: 'freebsd' }).ctx)).rejects.toThrow('uiohook-napi has no build for freebsd');
  });
});

describe('macOS privacy settings', () => {
  const FAKE = fileURLToPath(new URL('../../test-support/fake-hook-child.ts', import.meta.url));
  let source: UiohookSource | undefined;
  afterEach(async () => {
    await source?.stop();
    delete process.env.FAKE_HOOK;
  });

  async function run(mode: string, platform: NodeJS.Platform, silentMs = 60_000) {
    process.env.FAKE_HOOK = mode; // the child inherits it
    process.env.FAKE_HOOK_DELAY_MS = '1500';
    source = new UiohookSource({ platform, screen: null, childModule: FAKE, silentMs }, { probeX11: async () => ({ width: 1, height: 1 }) });
    const states: [boolean, string][] = [];
    const inputs: unknown[] = [];
    const started = source.start({ onInput: (i) => inputs.push(i), onCaptureState: (running, message) => states.push([running, message]) });
    return { started, states, inputs };
  }

  it('a hook macOS refuses keeps the publisher up, names the System Settings pane, and tries again', async () => {
    const { started, states } = await run('refuse', 'darwin');
    await started;
    expect(states).toEqual([[false, `${MAC_PERMISSION_LINE}; trying again in 1 s`]]);
    expect(MAC_PERMISSION_LINE).toMatch(/System Settings › Privacy & Security › Accessibility and › Input Monitoring/);
    await expect.poll(() => states.length, { timeout: 15_000 }).toBeGreaterThan(1); // the second try, refused again
    expect(states[1]).toEqual([false, `${MAC_PERMISSION_LINE}; trying again in 2 s`]);
  });

  it('the same refusal on Linux is a start failure', async () => {
    const { started } = await run('refuse', 'linux');
    await expect(started).rejects.toThrow(/uiohook capture could not start: exit code 1/);
  });

  it('a hook that stays silent is reported as the likely permission problem, and cleared by the first event', async () => {
    const { started, states, inputs } = await run('late', 'darwin', 300);
    await started;
    await expect.poll(() => states, { timeout: 10_000 }).toContainEqual([false, expect.stringMatching(/^No mouse event in 0 s; if the mouse moved, macOS blocks .*System Settings › Privacy & Security/)]);
    await expect.poll(() => states.at(-1), { timeout: 10_000 }).toEqual([true, 'uiohook: mouse events arrive; capture runs']);
    expect(inputs).toEqual([{ type: 'move', x: 5, y: 6, ts: expect.any(Number) }]);
  });

  it('on Linux silence is no problem (a mouse may rest)', async () => {
    const { started, states } = await run('silent', 'linux', 100);
    await started;
    await new Promise((r) => setTimeout(r, 400));
    expect(states).toEqual([]);
  });
});

describe('uiohook-napi that does not load here', () => {
  // node-gyp-build picks the prebuilt addon by npm_config_arch: arm (a 32-bit Raspberry Pi) has none, so the real
  // capture child fails to load it exactly as it would there.
  const noBuild = { ...process.env, npm_config_arch: 'arm', ARM_VERSION: '7' };

  it('is found out by loading the addon in the capture child, without starting the hook', async () => {
    await expect(checkAddonLoads(undefined, process.env)).resolves.toBeUndefined();
    await expect(checkAddonLoads(undefined, noBuild)).rejects.toThrow(
      /^uiohook-napi does not load on this machine \(linux-x64\): No native build was found for platform=linux arch=arm /,
    );
  });

  it('makes open() fail with that reason, so auto moves on to the next source', async () => {
    const { ctx } = context({ probeX11: async () => ({ width: 1280, height: 800 }) });
    await expect(UiohookSource.open(ctx, () => checkAddonLoads(undefined, noBuild))).rejects.toThrow(/does not load on this machine/);
  });
});
