import { describe, expect, it } from 'vitest';
import { PublishHistory, PUBLISHED_ROWS } from '../view/publish-history';
import { RetainedState } from './page-recorder';
import { RefusalWatch, topicProblem } from './publishing';

const bytes = (s: string) => new TextEncoder().encode(s);
const notice = (topic: string, why = 'alice may not publish there') => bytes(JSON.stringify({ topic, reason: 'not_authorized', why, ts: 1 }));

describe('publishing from the page', () => {
  it('holds the broker\'s refusal notices by topic until taken, ignores what is not a notice, and stays capped', () => {
    const watch = new RefusalWatch();
    expect(watch.note(bytes('<b>not json'))).toBeNull();
    expect(watch.note(bytes('{"topic":1}'))).toBeNull();
    expect(watch.note(notice('a/b'))).toMatchObject({ topic: 'a/b', why: 'alice may not publish there' });
    expect(watch.take('a/b')?.reason).toBe('not_authorized');
    expect(watch.take('a/b')).toBeUndefined();
    for (let i = 0; i < 500; i++) watch.note(notice(`t/${i}`));
    expect(watch.take('t/0')).toBeUndefined(); // the oldest went
    expect(watch.take('t/499')).toBeDefined();
  });

  it('refuses topics MQTT forbids in a PUBLISH before sending', () => {
    expect(topicProblem('')).toEqual({ code: 'topic-empty' });
    expect(topicProblem('a/+/b')).toEqual({ code: 'topic-wildcard' });
    expect(topicProblem('a/#')).toEqual({ code: 'topic-wildcard' });
    expect(topicProblem('$mqlive/clients/x/refused')).toEqual({ code: 'topic-system' });
    expect(topicProblem('home/lamp')).toBeNull();
  });

  it('knows the retained topics of a branch, and forgets a cleared one', () => {
    const retained = new RetainedState();
    for (const t of ['old/a', 'old/a/x', 'old/ab', 'old/b']) retained.note(t, bytes('1'), 1, true);
    expect(retained.topicsUnder('old/a')).toEqual(['old/a', 'old/a/x']);
    retained.note('old/a/x', new Uint8Array(0), 1, true);
    expect(retained.topicsUnder('old')).toEqual(['old/a', 'old/ab', 'old/b']);
  });

  it('lists what the page published, capped, and marks a QoS 0 publish refused when its notice comes', () => {
    const history = new PublishHistory();
    const id = history.add({ topic: 'devices/x/status', payload: 'online', qos: 0, retain: true }, 1);
    history.settle(id, 'sent');
    history.refusedLater({ topic: 'devices/x/status', reason: 'not_authorized', why: 'alice may not publish there', ts: 2 });
    expect(history.list()[0]).toMatchObject({ outcome: 'refused', why: 'alice may not publish there' });
    // The notice may come before the page hears the publish was sent: it stays refused.
    const early = history.add({ topic: 'devices/y/status', payload: '', qos: 0, retain: true }, 3);
    history.refusedLater({ topic: 'devices/y/status', reason: 'not_authorized', why: 'no', ts: 4 });
    history.settle(early, 'sent');
    expect(history.list()[0]).toMatchObject({ outcome: 'refused' });
    for (let i = 0; i < 2 * PUBLISHED_ROWS; i++) history.add({ topic: 't', payload: 'x'.repeat(1000), qos: 1, retain: false }, i);
    expect(history.list()).toHaveLength(PUBLISHED_ROWS);
    expect(history.list()[0]!.payload.length).toBeLessThan(300);
  });
});
