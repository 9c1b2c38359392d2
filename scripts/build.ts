/**
 * Compiles mqlive's Node side to plain ESM JavaScript in dist/ (esbuild, with source maps): the `mqlive`
 * command, the uiohook capture child it spawns, and the device-client helper with its type declarations.
 * Dependencies stay in node_modules (not bundled). The viewer is built by Vite into viewer/dist.
 *
 *   node --import tsx scripts/build.ts
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LOCK = join(ROOT, 'dist.lock');
// The same folders as the Makefile's DIST_SOURCES: everything bin/mqlive.ts can reach.
const INPUTS = ['bin', 'cli', 'broker', 'publisher', 'recorder', 'protocol', 'scripts', 'package.json', 'tsconfig.dist.json'];

/** The newest modification time among the files dist/ is built from. */
function newestInput(path = ROOT, names = INPUTS): number {
  let newest = 0;
  for (const name of names) {
    const full = join(path, name);
    if (!existsSync(full)) continue;
    const stat = statSync(full);
    newest = Math.max(newest, stat.isDirectory() ? newestInput(full, readdirSync(full)) : stat.mtimeMs);
  }
  return newest;
}

function upToDate(): boolean {
  const entry = statSync(join(ROOT, 'dist/mqlive.js'), { throwIfNoEntry: false });
  return entry !== undefined && existsSync(join(ROOT, 'dist/types')) && entry.mtimeMs > newestInput();
}

// Several `npm run` at once (the scale-out recipe starts three) each build first: one builds, the others wait
// for it and find dist/ up to date, instead of deleting it under each other.
for (let waited = 0; ; waited += 100) {
  try {
    mkdirSync(LOCK);
    break;
  } catch {
    if (waited > 60_000) rmSync(LOCK, { recursive: true, force: true }); // left by a build that was killed
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
try {
  if (!upToDate()) await compile();
} finally {
  rmSync(LOCK, { recursive: true, force: true });
}

async function compile(): Promise<void> {
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
}
