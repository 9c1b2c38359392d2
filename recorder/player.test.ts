import { describe, expect, it } from 'vitest';
import type { RecordedMessage } from '../protocol/recording';
import { IN_FLIGHT, Player, type Clock } from './player';

/** A clock that moves only when slept on, and oversleeps every time by `oversleep` ms (a busy machine). */
function lateClock(oversleep: number): Clock & { time: number } {
  const clock = {
    time: 1000,
    now: () => clock.time,
    sleep: async (ms: number) => {
      clock.time += ms + oversleep;
    },
  };
  return clock;
}

const message = (t: number, qos: 0 | 1 | 2 = 0, retain = false): RecordedMessage => ({ t, topic: `lab/${t}`, payload: new TextEncoder().encode(String(t)), qos, retain });

describe('the replay schedule', () => {
  it('publishes each message at start + t / speed: a late timer delays that message only, never the rest', async () => {
    const clock = lateClock(5);
    const sentAt: number[] = [];
    const player = new Player(async () => sentAt.push(clock.now() - 1000), { speed: 1, prefix: '', keepRetain: true, say: () => {}, clock });
    for (let t = 0; t < 1000; t += 2) await player.play(message(t));
    // Accumulated sleeps would put the last one at 500 * (2 + 5) ms; on schedule it is at most 5 ms late.
    expect(sentAt.at(-1)).toBeLessThanOrEqual(998 + 5);
    expect(sentAt.every((at, i) => at >= i * 2 && at <= i * 2 + 5)).toBe(true);
    expect(player.maxLateMs).toBe(5);
  });

  it('--speed 2 halves every wait; --speed 0 never waits', async () => {
    for (const [speed, expected] of [
      [2, [0, 50, 500]],
      [0, [0, 0, 0]],
    ] as const) {
      const clock = lateClock(0);
      const sentAt: number[] = [];
      const player = new Player(async () => sentAt.push(clock.now() - 1000), { speed, prefix: '', keepRetain: true, say: () => {}, clock });
      for (const t of [0, 100, 1000]) await player.play(message(t));
      expect(sentAt).toEqual(expected);
    }
  });

  it('a new round starts the clock again', async () => {
    const clock = lateClock(0);
    const sentAt: number[] = [];
    const player = new Player(async () => sentAt.push(clock.now() - 1000), { speed: 1, prefix: '', keepRetain: true, say: () => {}, clock });
    await player.play(message(0));
    await player.play(message(300));
    player.startRound();
    await player.play(message(0));
    await player.play(message(300));
    expect(sentAt).toEqual([0, 300, 300, 600]);
  });

  it('keeps topic (with the prefix), bytes, QoS and order; --retain drop unretains; waits for a QoS 1 ack before the next message', async () => {
    const calls: string[] = [];
    let ack!: () => void;
    const publish = async (topic: string, payload: Uint8Array, qos: number, retain: boolean) => {
      calls.push(`${topic} ${new TextDecoder().decode(payload)} q${qos}${retain ? ' r' : ''}`);
      if (qos > 0) await new Promise<void>((resolve) => (ack = resolve));
    };
    const player = new Player(publish, { speed: 0, prefix: 'copy/', keepRetain: false, say: () => {} });
    await player.play(message(0, 1, true));
    const next = player.play(message(1, 0));
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual(['copy/lab/0 0 q1']); // the QoS 0 message waits for the ack
    ack();
    await next;
    await player.drain();
    expect(calls).toEqual(['copy/lab/0 0 q1', 'copy/lab/1 1 q0']);
  });

  it('says a failed publish with its topic and reason escaped: a recording cannot write terminal codes', async () => {
    const said: string[] = [];
    const publish = async () => {
      throw new Error('refused\u001b[2J');
    };
    const player = new Player(publish, { speed: 0, prefix: 'evil\u202e/', keepRetain: true, say: (line) => said.push(line) });
    await player.play(message(0, 0));
    await player.drain();
    expect(said).toEqual(['could not publish on evil\\u202e/lab/0: refused\\u001b[2J']);
  });

  it('holds at most IN_FLIGHT publishes unfinished (the backpressure of --speed 0)', async () => {
    const pending: (() => void)[] = [];
    const player = new Player(() => new Promise<void>((resolve) => pending.push(resolve)), { speed: 0, prefix: '', keepRetain: true, say: () => {} });
    let played = 0;
    const run = (async () => {
      for (let t = 0; t < IN_FLIGHT + 10; t++) {
        await player.play(message(t));
        played += 1;
      }
    })();
    await new Promise((r) => setTimeout(r, 20));
    expect(pending).toHaveLength(IN_FLIGHT);
    expect(played).toBe(IN_FLIGHT);
    for (let i = 0; i < 200 && played < IN_FLIGHT + 10; i++) {
      pending.shift()?.();
      await new Promise((r) => setTimeout(r, 1));
    }
    await run;
    expect(played).toBe(IN_FLIGHT + 10);
  });
});

describe('replay bounded (issue 26)', () => {
  it("never asks for a sleep longer than Node's timers take (2^31-1 ms), and sends a message 40 days out at its time, not before", async () => {
    const clock = lateClock(0);
    const asked: number[] = [];
    const sleep = clock.sleep;
    clock.sleep = async (ms: number) => {
      asked.push(ms);
      await sleep(ms);
    };
    const sentAt: number[] = [];
    const player = new Player(async () => sentAt.push(clock.now() - 1000), { speed: 1, prefix: '', keepRetain: true, say: () => {}, clock });
    const fortyDays = 40 * 24 * 3600 * 1000;
    await player.play(message(0));
    await player.play(message(fortyDays));
    expect(sentAt).toEqual([0, fortyDays]);
    expect(asked.length).toBeGreaterThan(1);
    expect(Math.max(...asked)).toBeLessThanOrEqual(2 ** 31 - 1);
  });

  it('a stop ends the wait for an acknowledgement that never comes, and for room among the publishes in flight; nothing more is sent', async () => {
    const abort = new AbortController();
    const sent: string[] = [];
    // A broker that never acknowledges anything.
    const publish = (topic: string) => {
      sent.push(topic);
      return new Promise<void>(() => {});
    };
    const player = new Player(publish, { speed: 0, prefix: '', keepRetain: true, say: () => {}, signal: abort.signal });
    await player.play(message(0, 1));
    let done = false;
    const next = player.play(message(1, 0)).then(() => (done = true));
    // A barrier: a timer queued now runs after every microtask the waiting play could take.
    await new Promise((r) => setTimeout(r, 0));
    expect(done).toBe(false);
    abort.abort();
    await next;
    await player.drain();
    expect(sent).toEqual(['lab/0']);

    // With IN_FLIGHT QoS 0 publishes unfinished, the next one waits for room, until the stop.
    const full = new AbortController();
    const player2 = new Player(publish, { speed: 0, prefix: '', keepRetain: true, say: () => {}, signal: full.signal });
    for (let t = 0; t < IN_FLIGHT; t++) await player2.play(message(t));
    const waiting = player2.play(message(IN_FLIGHT));
    full.abort();
    await waiting;
    await player2.drain();
    expect(player2.sent).toBe(IN_FLIGHT);
  });
});
