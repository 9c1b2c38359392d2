import type { Aedes } from 'aedes';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { capturingLogger } from '../test-support/logs';
import { DropAfterAck } from './admission/drop-after-ack';
import { SubscribeAdmission } from './admission/subscribe-admission';
import { RetainedCap } from './caps/retained';
import { checkClientInternals } from './client-internals';
import { checkPinnedVersions, installedVersion, LibraryMismatchError, PATCHED_LIBRARIES, pinnedVersion, requireInternal } from './library-internals';
import { LogLimiter } from './log';
import { BrokerMetrics } from './metrics';
import { guardStoredReads } from './redis-stored';
import { DEFAULT_LIMITS } from './security/limits';
import { Rights } from './security/rights';

// Issue 30: the libraries whose internals the broker patches are pinned exactly, and each patch refuses to go in
// (naming the library, its version and the internal) when the internal is not there, instead of silently not
// applying. Each patch's behaviour is tested against the pinned version by its own test file.
const mismatch = (internal: RegExp) => expect.objectContaining({ name: 'LibraryMismatchError', message: expect.stringMatching(internal) });
const noAedes = {} as unknown as Aedes;

describe('patched libraries', () => {
  it('are pinned to an exact version in package.json, and that version is the one installed', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
    for (const library of PATCHED_LIBRARIES) {
      expect(pkg.dependencies[library], library).toMatch(/^\d+\.\d+\.\d+(-[\w.]+)?$/);
      expect(installedVersion(library), library).toBe(pinnedVersion(library));
    }
    expect(() => checkPinnedVersions()).not.toThrow();
  });

  it('a missing internal is one line naming the library, its version and what is missing', () => {
    expect(() => requireInternal(false, 'aedes', 'Aedes#publish')).toThrow(LibraryMismatchError);
    expect(() => requireInternal(false, 'aedes', 'Aedes#publish')).toThrow(`aedes ${installedVersion('aedes')} has no Aedes#publish as mqlive expects (it patches aedes ${pinnedVersion('aedes')}): run npm ci`);
  });

  it('each patch refuses to go in without its internal', async () => {
    expect(() => new DropAfterAck().install(noAedes)).toThrow(mismatch(/^aedes .* has no Aedes#publish/));
    const limiter = new LogLimiter(capturingLogger().log);
    await expect(new RetainedCap(DEFAULT_LIMITS, new BrokerMetrics(), limiter).install({ persistence: {} } as unknown as Aedes)).rejects.toEqual(mismatch(/persistence\.storeRetained/));
    expect(() => new SubscribeAdmission(DEFAULT_LIMITS, new Rights([], true), () => undefined).keepOnlyGranted({ persistence: {} } as unknown as Aedes)).toThrow(mismatch(/persistence\.addSubscriptions/));
    expect(() => checkClientInternals({ handle: () => ({}) } as unknown as Aedes)).toThrow(mismatch(/Client#deliver0/));
    expect(() => guardStoredReads({} as never, DEFAULT_LIMITS, () => {})).toThrow(mismatch(/^aedes-persistence-redis .* its Redis connection's/));
  });
});
