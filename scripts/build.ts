/**
 * Compiles mqlive's Node side to plain ESM JavaScript in dist/ (esbuild, with source maps): the `mqlive`
 * command, the uiohook capture child it spawns, and the device-client helper with its type declarations.
 * Dependencies stay in node_modules (not bundled). The viewer is built by Vite into viewer/dist.
 *
 *   node --import tsx scripts/build.ts
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

rmSync(`${ROOT}dist`, { recursive: true, force: true });
await build({
  absWorkingDir: ROOT,
  entryPoints: {
    mqlive: 'bin/mqlive.ts',
    'uiohook-child': 'publisher/sources/uiohook-child.ts',
    'device-client': 'protocol/device-client.ts',
  },
  outdir: 'dist',
  bundle: true,
  // Each command is its own chunk, loaded when it runs. Chunks stay beside the entries, one folder below the
  // package root, as bin/ is in a clone: paths like ../viewer/dist resolve the same way in both.
  splitting: true,
  chunkNames: '[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
// Type declarations for `import { connectDevice } from 'mqlive/device-client'`.
execFileSync(process.execPath, [fileURLToPath(import.meta.resolve('typescript/bin/tsc')), '-p', 'tsconfig.dist.json'], { cwd: ROOT, stdio: 'inherit' });
