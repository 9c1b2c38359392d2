import { execFileSync } from 'node:child_process';

/**
 * Fails (never skips) when a Debian tool a suite needs is missing, saying how to get it:
 * `make test` and `.ci/run` install them, so a missing tool is a broken setup, not a reason to skip.
 */
export function requireTool(command: string, debianPackage: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${command} is missing: install it with 'make deps' (Debian package ${debianPackage})`);
  }
}
