/**
 * What uiohook needs to know about the desktop it runs on, asked of the platform's own tools (no native
 * dependency): the screen size on macOS and Windows, whether this is a Wayland session, what macOS's privacy
 * settings want. Every function takes the platform, the environment or the command runner as a value.
 */
import { execFile } from 'node:child_process';
import type { ScreenSize } from '../../protocol';
import type { CommandRunner } from './source';

/** Runs a program with a time limit and resolves with its stdout. */
export const runCommand: CommandRunner = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 10_000, windowsHide: true }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });

/** macOS: the main display's size in points, which is what uiohook reports there (JXA, part of every macOS). */
const MAC_SCREEN: [string, string[]] = [
  'osascript',
  ['-l', 'JavaScript', '-e', 'ObjC.import("AppKit"); var f = $.NSScreen.screens.objectAtIndex(0).frame; f.size.width + "x" + f.size.height'],
];

/**
 * Windows: the virtual desktop (every monitor) in physical pixels, the coordinates uiohook's low-level hook
 * reports; the process asks to be DPI-aware first, or Windows would scale the answer.
 */
const WINDOWS_SCREEN: [string, string[]] = [
  'powershell.exe',
  [
    '-NoProfile',
    '-NonInteractive',
    '-Command',
    "Add-Type -Namespace MqLive -Name Screen -MemberDefinition '[DllImport(\"user32.dll\")] public static extern bool SetProcessDPIAware(); [DllImport(\"user32.dll\")] public static extern int GetSystemMetrics(int i);'; [void][MqLive.Screen]::SetProcessDPIAware(); \"$([MqLive.Screen]::GetSystemMetrics(78))x$([MqLive.Screen]::GetSystemMetrics(79))\"",
  ],
];

export const SCREEN_COMMANDS: Partial<Record<NodeJS.Platform, [string, string[]]>> = { darwin: MAC_SCREEN, win32: WINDOWS_SCREEN };

/** The screen size from the platform's own tool, or null and a one-line note saying why there is none. */
export async function platformScreen(platform: NodeJS.Platform, run: CommandRunner): Promise<{ screen: ScreenSize | null; note: string | null }> {
  const command = SCREEN_COMMANDS[platform];
  if (!command) return { screen: null, note: `uiohook: no way to read the screen size on ${platform}; meta says screen: null` };
  try {
    const output = (await run(...command)).trim();
    const m = output.match(/^(\d+)(?:\.\d+)?x(\d+)(?:\.\d+)?$/);
    if (m && Number(m[1]) > 0 && Number(m[2]) > 0) return { screen: { width: Number(m[1]), height: Number(m[2]) }, note: null };
    return { screen: null, note: `uiohook: could not read the screen size (${command[0]} said "${output.slice(0, 80)}"); meta says screen: null` };
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code ?? (error as Error).message.split('\n')[0];
    return { screen: null, note: `uiohook: could not read the screen size (${command[0]}: ${why}); meta says screen: null` };
  }
}

export function isWaylandSession(env: Readonly<Record<string, string | undefined>>): boolean {
  return env.XDG_SESSION_TYPE === 'wayland' || !!env.WAYLAND_DISPLAY;
}

export const WAYLAND_LINE =
  'Wayland session: uiohook captures through XWayland, which sees the pointer only over X11 windows; --source evdev captures everything (it needs read access to /dev/input)';

/** macOS's privacy settings hold back the hook until the terminal that runs the publisher is allowed. */
export const MAC_PERMISSION_LINE =
  'macOS blocks the mouse hook: allow the terminal that runs the publisher in System Settings › Privacy & Security › Accessibility and › Input Monitoring, then start it again';

/** uiohook-napi throws UIOHOOK_ERROR_AXAPI_DISABLED ("Failed to enable access for assistive devices.") on macOS without the permission. */
export function isMacPermissionRefusal(stderr: string): boolean {
  return /UIOHOOK_ERROR_AXAPI_DISABLED|access for assistive devices/i.test(stderr);
}
