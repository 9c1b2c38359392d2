import { describe, expect, it } from 'vitest';
import { createSay, jsonLine } from './output';

describe('publisher output', () => {
  it('json: one object a line with level, time, the event and its fields, and the line for people as msg', () => {
    const written: string[] = [];
    const say = createSay('json', (text) => written.push(text));
    say('Pressed left at (1, 2)', { event: 'click', button: 'left', x: 1, y: 2 });
    expect(written).toHaveLength(1);
    expect(written[0]!.endsWith('}\n')).toBe(true);
    expect(JSON.parse(written[0]!)).toEqual({ level: 30, time: expect.any(Number), event: 'click', button: 'left', x: 1, y: 2, msg: 'Pressed left at (1, 2)' });
  });

  it('json: a problem is a warning (level 40); a line said without an event is a note', () => {
    expect(JSON.parse(jsonLine('Broker away', { event: 'connection_problem', reason: 'unreachable' }))).toMatchObject({ level: 40, event: 'connection_problem' });
    expect(JSON.parse(jsonLine('evdev: reading /dev/input/event3'))).toMatchObject({ level: 30, event: 'note', msg: 'evdev: reading /dev/input/event3' });
  });

  it('json: bidi controls and zero-width marks from the wire are escaped, so a message cannot disguise its line', () => {
    const line = jsonLine('From client v: \u202etxt.exe', { event: 'client_message', from: 'v', text: '\u202etxt.exe\u200b' });
    expect(line).not.toMatch(/[\u202e\u200b]/);
    expect(JSON.parse(line)).toMatchObject({ text: '\u202etxt.exe\u200b' });
  });

  it('auto and pretty print the plain line alone, as the publisher always has', () => {
    for (const format of ['auto', 'pretty'] as const) {
      const written: string[] = [];
      createSay(format, (text) => written.push(text))('Pressed left at (1, 2)', { event: 'click' });
      expect(written).toEqual(['Pressed left at (1, 2)\n']);
    }
  });
});
