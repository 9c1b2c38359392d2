import { homedir } from 'node:os';
import { posix, resolve, win32 } from 'node:path';

/** The value of --data-dir that keeps nothing on disk. */
export const NO_DATA_DIR = 'none';

/**
 * Where mqlive keeps its data when --data-dir is not given: the user's data folder of the platform
 * ($XDG_DATA_HOME/mqlive, else ~/.local/share/mqlive; ~/Library/Application Support/mqlive on macOS;
 * %LOCALAPPDATA%\mqlive on Windows). The platform, environment and home folder are parameters so that each
 * platform's answer is tested here, on Linux.
 */
export function defaultDataDir(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  if (platform === 'win32') return win32.join(env.LOCALAPPDATA || win32.join(home, 'AppData', 'Local'), 'mqlive');
  if (platform === 'darwin') return posix.join(home, 'Library', 'Application Support', 'mqlive');
  // The XDG spec: a relative $XDG_DATA_HOME is invalid and is to be ignored.
  const xdg = env.XDG_DATA_HOME;
  return posix.join(xdg && posix.isAbsolute(xdg) ? xdg : posix.join(home, '.local', 'share'), 'mqlive');
}

/** The data folder a --data-dir value names: null for `none` (in memory), the platform's default when absent. */
export function resolveDataDir(value: string | undefined): string | null {
  if (value === undefined || value === '') return defaultDataDir();
  if (value === NO_DATA_DIR) return null;
  return resolve(value);
}
