import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The libraries whose internals mqlive reaches into (Aedes's publish, deliver0 and persistence, mqtt-packet's parser
 * buffer and number cache, ws's socket, mqemitter-redis's _emit, aedes-persistence-redis's reads). A minor release
 * may change an internal, so package.json pins each to an exact version, and the broker checks at start that the
 * installed version is that one and that each internal it patches is there: otherwise it refuses to start, naming
 * the library, its version and the internal, instead of silently changing behaviour or speed.
 */
export const PATCHED_LIBRARIES = ['aedes', 'mqtt-packet', 'ws', 'mqemitter-redis', 'aedes-persistence-redis'] as const;
export type PatchedLibrary = (typeof PATCHED_LIBRARIES)[number];

export class LibraryMismatchError extends Error {
  override name = 'LibraryMismatchError';
}

/** The version package.json pins (bin/ and dist/ both sit one folder below package.json, as broker/ does). */
export function pinnedVersion(library: PatchedLibrary): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
  return pkg.dependencies[library] ?? '(not pinned)';
}

/** The version installed in node_modules, found from where Node resolves the library. */
export function installedVersion(library: PatchedLibrary): string {
  try {
    let dir = dirname(fileURLToPath(import.meta.resolve(library)));
    for (let i = 0; i < 6; i++, dir = dirname(dir)) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (pkg.name === library && pkg.version) return pkg.version;
      } catch {
        // not this folder
      }
    }
  } catch {
    // not resolvable
  }
  return '(not installed)';
}

const REINSTALL = 'run npm ci (or reinstall mqlive) to get the version it was built against';

/** Refuses to start when an installed library is not the exact version package.json pins. */
export function checkPinnedVersions(libraries: readonly PatchedLibrary[] = PATCHED_LIBRARIES): void {
  for (const library of libraries) {
    const pinned = pinnedVersion(library);
    const installed = installedVersion(library);
    if (installed !== pinned) throw new LibraryMismatchError(`mqlive patches ${library} ${pinned}, but ${library} ${installed} is installed: ${REINSTALL}`);
  }
}

/** Throws, naming the library and the internal, unless `present`: call it where a patch is put in place. */
export function requireInternal(present: unknown, library: PatchedLibrary, internal: string): void {
  if (present) return;
  throw new LibraryMismatchError(`${library} ${installedVersion(library)} has no ${internal} as mqlive expects (it patches ${library} ${pinnedVersion(library)}): ${REINSTALL}`);
}
