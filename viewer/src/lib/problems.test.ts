import { describe, expect, it } from 'vitest';
import { loginText, problemOf, problemText, ProblemError, refusalDetail, type Problem } from './problems';

// The worker tells the page a problem as a code with its data; the words are made here, once.
describe('problemText', () => {
  it('says each problem in one sentence, none of them starting with "not sent" (the panels say that)', () => {
    const problems: Problem[] = [
      { code: 'not-connected' },
      { code: 'connection-lost' },
      { code: 'unreachable', url: 'ws://127.0.0.1:8080/mqtt' },
      { code: 'client-error', message: 'connack timeout' },
      { code: 'contract', topic: 'devices/a/mouse/move', reason: 'missing field "y"' },
      { code: 'clear-needs-retain' },
      { code: 'reply-invalid', reason: 'text is empty' },
      { code: 'topic-empty' },
      { code: 'topic-wildcard' },
      { code: 'topic-system' },
      { code: 'no-properties' },
      { code: 'not-acknowledged' },
      { code: 'refused', reasonCode: 0x87, reasonString: 'alice may not publish there' },
      { code: 'refused-notice', why: 'alice may not publish there' },
      { code: 'too-many-topics', count: 1001, max: 1000 },
      { code: 'not-cleared', refused: ['a'], total: 2, last: { code: 'refused', reasonCode: 0x87 } },
      { code: 'own-subscription', filter: 'devices/#', removing: false },
      { code: 'subscription-refused', filter: '#', reasonCode: null },
      { code: 'subscribe-failed', filter: '#', message: 'client disconnecting' },
      { code: 'not-a-recording', name: 'x.jsonl', message: 'line 1: not valid JSON' },
      { code: 'failed', message: 'boom' },
    ];
    for (const p of problems) {
      const text = problemText(p);
      expect(text, p.code).toMatch(/\S/);
      expect(text, p.code).not.toMatch(/^not sent/i);
    }
  });

  it('words a contract refusal once, so the panel reads "Not sent: missing field …" (it read "Not sent: not sent: …")', () => {
    const text = problemText({ code: 'contract', topic: 'devices/a/mouse/move', reason: 'missing field "y"' });
    expect(`Not sent: ${text}`).toBe('Not sent: missing field "y" (the broker would drop it: devices/a/mouse/move is a contract topic)');
  });

  it('names the broker refusal with its reason code and string, or its notice', () => {
    expect(problemText({ code: 'refused', reasonCode: 0x87, reasonString: 'alice may not publish there' })).toBe('refused by the broker: 0x87 Not authorized — alice may not publish there');
    expect(refusalDetail({ code: 'refused-notice', why: 'alice may not publish there' })).toBe('alice may not publish there');
    expect(refusalDetail({ code: 'not-acknowledged' })).toBeNull();
    expect(problemText({ code: 'not-cleared', refused: ['a', 'b', 'c', 'd'], total: 5, last: { code: 'refused-notice', why: 'no' } })).toBe('4 of 5 not cleared (a, b, c, …): refused by the broker: no');
    expect(problemText({ code: 'subscription-refused', filter: '$mqlive/#', reasonCode: 0x87 })).toBe('the broker refused the subscription to "$mqlive/#": 0x87 Not authorized');
    expect(problemText({ code: 'subscription-refused', filter: '#', reasonCode: null })).toBe('the broker refused the subscription to "#": this user may not read it');
  });

  it('says which URL would do when a broker URL has another path than /mqtt, as the command line does', () => {
    expect(problemText({ code: 'unreachable', url: 'ws://127.0.0.1:8080/mqt' })).toBe(
      "cannot reach a broker at ws://127.0.0.1:8080/mqt: nothing answers there, or it is not MQTT over WebSocket. mqlive's broker serves it at the path /mqtt: use ws://127.0.0.1:8080/mqtt",
    );
    expect(problemText({ code: 'unreachable', url: 'wss://h.example' })).toMatch(/use wss:\/\/h\.example\/mqtt$/);
    expect(problemText({ code: 'unreachable', url: 'ws://127.0.0.1:8080/mqtt' })).toBe('cannot reach a broker at ws://127.0.0.1:8080/mqtt: nothing answers there, or it is not MQTT over WebSocket');
  });

  it('says why a login is asked for', () => {
    expect(loginText('wrong-credentials')).toBe('Wrong user name or password.');
    expect(loginText('login-required')).toBe('This broker asks for a user name and password.');
  });

  it('keeps the problem of a ProblemError, and an unexpected error as its words', () => {
    const error = new ProblemError({ code: 'not-connected' });
    expect(error.message).toBe('not connected to the broker');
    expect(problemOf(error)).toEqual({ code: 'not-connected' });
    expect(problemOf(new Error('odd'))).toEqual({ code: 'failed', message: 'odd' });
  });
});
