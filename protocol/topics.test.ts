import { describe, expect, it } from 'vitest';
import { parseTopic } from './contract';
import { clientMessagesTopic, metaTopic, mouseTopic, statusTopic } from './topics';

describe('topic builders', () => {
  it('build the contract topics', () => {
    expect(mouseTopic('laptop', 'move')).toBe('devices/laptop/mouse/move');
    expect(mouseTopic('laptop', 'click')).toBe('devices/laptop/mouse/click');
    expect(mouseTopic('laptop', 'scroll')).toBe('devices/laptop/mouse/scroll');
    expect(statusTopic('pi')).toBe('devices/pi/status');
    expect(metaTopic('pi')).toBe('devices/pi/meta');
    expect(clientMessagesTopic('viewer-1')).toBe('clients/viewer-1/messages');
  });

  it('refuse ids that would break the topic tree', () => {
    expect(() => mouseTopic('a/b', 'move')).toThrow(/invalid device id "a\/b".*separator/);
    expect(() => statusTopic('+')).toThrow(/wildcard/);
    expect(() => metaTopic('')).toThrow(/empty/);
    expect(() => clientMessagesTopic('#')).toThrow(/invalid client id/);
  });
});

describe('parseTopic', () => {
  it('parses what the builders build', () => {
    for (const event of ['move', 'click', 'scroll'] as const) {
      expect(parseTopic(mouseTopic('d1', event))).toEqual({ kind: 'mouse', device: 'd1', event });
    }
    expect(parseTopic('devices/d1/status')).toEqual({ kind: 'status', device: 'd1' });
    expect(parseTopic('devices/d1/meta')).toEqual({ kind: 'meta', device: 'd1' });
    expect(parseTopic('clients/v1/messages')).toEqual({ kind: 'clientMessage', clientId: 'v1' });
  });

  it('leaves free-form topics alone', () => {
    for (const t of [
      'devices/pi/temperature/celsius',
      'devices/pi/mouse/drag',
      'devices/pi/mouse/move/extra',
      'devices/pi/status/x',
      'devices',
      'clients/v1',
      'clients/v1/other',
      'home/kitchen/light',
      '',
    ]) {
      expect(parseTopic(t)).toBeNull();
    }
  });

  it('keeps a bad id so a validator can say what is wrong', () => {
    expect(parseTopic('devices/a.b/status')).toEqual({ kind: 'status', device: 'a.b' });
    expect(parseTopic('clients//messages')).toEqual({ kind: 'clientMessage', clientId: '' });
  });
});
