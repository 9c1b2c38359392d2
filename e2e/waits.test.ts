import { describe, expect, it } from 'vitest';
import { spawnProcess } from '../test-support/processes';

// The test helpers' waits on a process's output: each reads from where the last one matched.
const printing = (lines: string[]) => spawnProcess(process.execPath, ['-e', `for (const line of ${JSON.stringify(lines)}) console.log(line)`]);

describe('waiting on a process', () => {
  it('a repeated line is found as its new copy, never as the old one', async () => {
    const p = printing(['tick', 'tock']);
    await p.waitForOutput(/tick/);
    await p.waitForOutput(/tock/);
    await expect(p.waitForOutput(/tick/, 5000)).rejects.toThrow(/process ended before printing \/tick\//);
  });

  it('^ means the start of a line, not where the last match ended', async () => {
    const p = printing(['a b']);
    await p.waitForOutput(/a /);
    await expect(p.waitForOutput(/^b/m, 5000)).rejects.toThrow(/ended/);
  });

  it('waitForEvent takes the next JSON event with that name and those fields, after the cursor', async () => {
    const p = printing(['{"event":"click","n":1}', 'not json', '{"event":"click","n":2}', '{"event":"other","n":3}', '{"event":"click","n":4}']);
    expect(await p.waitForEvent('click')).toEqual({ event: 'click', n: 1 });
    expect(await p.waitForEvent('click', { where: { n: 4 } })).toEqual({ event: 'click', n: 4 });
    await expect(p.waitForEvent('click', { timeoutMs: 5000 })).rejects.toThrow(/ended/); // 2 was passed over
    expect(p.events('click').map((e) => e.n)).toEqual([1, 2, 4]); // events() still lists everything
  });
});
