import { describe, expect, it } from 'vitest';
import { defaultDataDir, resolveDataDir } from './data-dir';

// CI runs on Linux only: the other platforms' folders are checked here with the platform given.
describe('the default data folder', () => {
  it('is $XDG_DATA_HOME/mqlive on Linux, else ~/.local/share/mqlive (a relative XDG_DATA_HOME is ignored, as the XDG spec says)', () => {
    expect(defaultDataDir('linux', { XDG_DATA_HOME: '/data/home' }, '/home/ada')).toBe('/data/home/mqlive');
    expect(defaultDataDir('linux', {}, '/home/ada')).toBe('/home/ada/.local/share/mqlive');
    expect(defaultDataDir('linux', { XDG_DATA_HOME: 'relative/share' }, '/home/ada')).toBe('/home/ada/.local/share/mqlive');
    expect(defaultDataDir('freebsd', {}, '/home/ada')).toBe('/home/ada/.local/share/mqlive');
  });

  it('is ~/Library/Application Support/mqlive on macOS', () => {
    expect(defaultDataDir('darwin', { XDG_DATA_HOME: '/ignored' }, '/Users/ada')).toBe('/Users/ada/Library/Application Support/mqlive');
  });

  it('is %LOCALAPPDATA%\\mqlive on Windows, else the usual place under the profile', () => {
    expect(defaultDataDir('win32', { LOCALAPPDATA: 'C:\\Users\\ada\\AppData\\Local' }, 'C:\\Users\\ada')).toBe('C:\\Users\\ada\\AppData\\Local\\mqlive');
    expect(defaultDataDir('win32', {}, 'C:\\Users\\ada')).toBe('C:\\Users\\ada\\AppData\\Local\\mqlive');
  });
});

describe('--data-dir', () => {
  it('none keeps nothing on disk; a relative folder is made absolute; absent or empty is the default', () => {
    expect(resolveDataDir('none')).toBeNull();
    expect(resolveDataDir('rel/dir')).toBe(`${process.cwd()}/rel/dir`);
    expect(resolveDataDir(undefined)).toBe(defaultDataDir());
    expect(resolveDataDir('')).toBe(defaultDataDir());
  });
});
