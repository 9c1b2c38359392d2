import { describe, expect, it } from 'vitest';
import { ID_PATTERN } from '../../protocol';
import { findSource, openSource, sourceChoices, sourceFlags, sourceHelp, SOURCES } from '.';
import { WAYLAND_LINE } from './platform';
import { SourceFlagError, type MouseSource, type SourceEntry } from './source';
import { sourceContext } from '../../test-support/source-context';

const context = sourceContext;

/** A registry line whose opener fails with `why`, or opens a source of its own name. */
function entry(name: string, auto: boolean, why?: string): SourceEntry {
  return {
    name,
    auto,
    description: `the ${name} source`,
    open: async () => {
      if (why) throw new Error(why);
      return { kind: name, screen: null, start: async () => {}, stop: async () => {} } satisfies MouseSource;
    },
  };
}

describe('the source registry', () => {
  it('has uiohook, evdev and demo, each with a name, a one-line description and an opener; auto comes first', () => {
    expect(SOURCES.map((s) => s.name)).toEqual(['uiohook', 'evdev', 'demo', 'replay']);
    for (const source of SOURCES) {
      expect(source.name).toMatch(ID_PATTERN); // it is meta's source word too
      expect(source.description).toMatch(/^[^\n]{10,120}$/);
      expect(typeof source.open).toBe('function');
    }
    expect(sourceChoices()).toEqual(['auto', 'uiohook', 'evdev', 'demo', 'replay:FILE']);
    const help = sourceHelp().split('\n');
    expect(help.map((l) => l.trim().split(/\s+/)[0])).toEqual(['auto', 'uiohook', 'evdev', 'demo', 'replay:FILE']);
    expect(Object.keys(sourceFlags())).toEqual(['evdev-device', 'screen', 'evdev-abs-range', 'loop', 'max-line-bytes']);
  });

  it('refuses an unknown --source, listing the valid names', () => {
    expect(() => findSource('x11')).toThrow(SourceFlagError);
    expect(() => findSource('x11')).toThrow('--source must be one of auto, uiohook, evdev, demo, replay:FILE (got "x11")');
    expect(() => findSource('x11:file')).toThrow('--source must be one of auto, uiohook, evdev, demo, replay:FILE (got "x11:file")');
    expect(findSource('auto')).toBeUndefined();
    expect(findSource('evdev')?.name).toBe('evdev');
  });

  it('passes what follows NAME: to a source that takes an argument, and refuses it or its absence otherwise', async () => {
    expect(findSource('replay:rec.jsonl')?.name).toBe('replay');
    expect(findSource('replay:C:/recordings/a.jsonl')?.name).toBe('replay');
    expect(() => findSource('replay')).toThrow('--source replay needs FILE: --source replay:FILE');
    expect(() => findSource('demo:fast')).toThrow('--source demo takes nothing after a colon (got "demo:fast")');
    let given: string | undefined;
    const withFile: SourceEntry = { ...entry('file', false), argument: 'FILE', open: async (_ctx, _flags, argument) => ((given = argument), entry('file', false).open(_ctx, _flags)) };
    await openSource('file:a:b.jsonl', context().ctx, {}, [withFile]);
    expect(given).toBe('a:b.jsonl');
  });

  it('auto tries the auto entries in order, skips the others, and says in one line why it settled lower', async () => {
    const registry = [entry('first', true, 'no display'), entry('manual', false), entry('second', true, 'no device'), entry('last', true)];
    const { ctx, lines } = context();
    expect((await openSource('auto', ctx, {}, registry)).kind).toBe('last');
    expect(lines).toEqual(['Cannot capture with first (no display) or second (no device); using the last source instead.']);
    const quiet = context();
    expect((await openSource('auto', quiet.ctx, {}, [entry('first', true), entry('last', true)])).kind).toBe('first');
    expect(quiet.lines).toEqual([]);
  });

  it('a named source that cannot open is an error, not a fallback; a bad flag stops auto too', async () => {
    const registry = [entry('first', true, 'no display'), entry('last', true)];
    await expect(openSource('first', context().ctx, {}, registry)).rejects.toThrow('no display');
    const badFlag: SourceEntry = { ...entry('flagged', true), open: async () => Promise.reject(new SourceFlagError('--screen must be WIDTHxHEIGHT')) };
    await expect(openSource('auto', context().ctx, {}, [badFlag, entry('last', true)])).rejects.toThrow(SourceFlagError);
  });

  it('auto in a Wayland session says what XWayland cannot see before it falls back', async () => {
    const { ctx, lines } = context({ env: { WAYLAND_DISPLAY: 'wayland-0' } });
    await openSource('auto', ctx, {});
    expect(lines[0]).toBe(WAYLAND_LINE);
  });
});
