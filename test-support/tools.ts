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

/**
 * Fails (never skips) when Debian's python3 cannot import `module`, saying how to get it. /usr/bin/python3, not the
 * first python3 on PATH (a pyenv or venv one): Debian's python3-* packages install for Debian's Python only.
 */
export function requirePythonModule(module: string, debianPackage: string): void {
  try {
    execFileSync('/usr/bin/python3', ['-c', `import ${module}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`/usr/bin/python3 cannot import ${module}: install it with 'make deps' (Debian package ${debianPackage})`);
  }
}
