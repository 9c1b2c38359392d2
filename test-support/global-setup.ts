import { execFileSync } from 'node:child_process';
import { ROOT } from './processes';

/**
 * Tests run the compiled `mqlive` command (dist/), as users do: build it once, fresh, before any suite.
 * esbuild takes well under a second.
 */
export default function setup(): void {
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { cwd: ROOT, stdio: 'inherit' });
}
