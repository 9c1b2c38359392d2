import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from './processes';

/**
 * A fresh copy of the repository in a temporary folder: the files git would clone (tracked, and new files not
 * ignored), with their modification times, so make sees them as they are here. `linkInstalled` links this
 * checkout's node_modules and viewer build into it, as after `make install build`.
 */
export function copyRepo(prefix: string, options: { linkInstalled?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(ROOT, file), join(dir, file), { preserveTimestamps: true });
  }
  if (options.linkInstalled) {
    // make would run `npm ci` through the link and reinstall this checkout's node_modules under running tests.
    // The Makefile reinstalls when node_modules is older than either file (its install target depends on both).
    const installed = statSync(join(ROOT, 'node_modules/.package-lock.json'), { throwIfNoEntry: false });
    for (const file of ['package-lock.json', 'package.json']) {
      if (!installed || installed.mtimeMs < statSync(join(ROOT, file)).mtimeMs) {
        throw new Error(`node_modules is older than ${file}: run npm ci (make install) first`);
      }
    }
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    symlinkSync(join(ROOT, 'viewer/dist'), join(dir, 'viewer/dist'));
  }
  return dir;
}
