import { describe, expect, it } from 'vitest';
import { bytesText, propertyLines, publishProperties, refusalText } from './mqtt5';

describe('refusalText', () => {
  it('names the reason code in hex, with the reason string made printable', () => {
    expect(refusalText(0x87)).toBe('0x87 Not authorized');
    expect(refusalText(0x97, 'too many retained topics')).toBe('0x97 Quota exceeded — too many retained topics');
    expect(refusalText(0x80, 'a\nb\u202e')).toBe('0x80 Unspecified error — a\\nb\\u202e');
    expect(refusalText(0xf0)).toBe('0xf0 unknown reason code');
    expect(refusalText(0x87, 'x'.repeat(2000)).length).toBeLessThan(600);
  });
});

describe('propertyLines', () => {
  it('lists each property as text, user properties last, a repeated key once per value', () => {
    const lines = propertyLines({
      contentType: 'application/json',
      payloadFormatIndicator: true,
      responseTopic: 'replies/1',
      correlationData: new TextEncoder().encode('req-7'),
      messageExpiryInterval: 30,
      userProperties: { '<b>x</b>': '<i>y</i>', twice: ['1', '2'] },
    });
    expect(lines).toEqual([
      { name: 'Content type', value: 'application/json', user: false },
      { name: 'Payload format', value: 'UTF-8 text', user: false },
      { name: 'Response topic', value: 'replies/1', user: false },
      { name: 'Correlation data', value: 'req-7', user: false },
      { name: 'Message expiry', value: '30 s left when it came', user: false },
      { name: '<b>x</b>', value: '<i>y</i>', user: true },
      { name: 'twice', value: '1', user: true },
      { name: 'twice', value: '2', user: true },
    ]);
    expect(propertyLines(undefined)).toEqual([]);
    expect(propertyLines({})).toEqual([]);
  });

  it('shows correlation data that is not printable UTF-8 as hex, and control characters in text escaped', () => {
    expect(bytesText(new Uint8Array([0, 0xff, 0x10]))).toBe('hex 00 ff 10');
    expect(bytesText(new TextEncoder().encode('a\u001bb'))).toBe('hex 61 1b 62');
    expect(bytesText(new Uint8Array(1000)).endsWith('… (1000 bytes)')).toBe(true);
    expect(propertyLines({ contentType: 'text/plain\u001b[31m' })[0]!.value).toBe('text/plain\\u001b[31m');
  });
});

describe('publishProperties', () => {
  const empty = { userProperties: [] as [string, string][], contentType: '', responseTopic: '', correlationData: '', messageExpiry: '' };

  it('sends only what was filled in; a key given twice carries both values', () => {
    expect(publishProperties(empty)).toEqual({ properties: {} });
    expect(
      publishProperties({
        userProperties: [['a', '1'], ['', ''], ['a', '2'], ['b', '']],
        contentType: 'text/plain',
        responseTopic: 'replies/me',
        correlationData: 'id-1',
        messageExpiry: ' 60 ',
      }),
    ).toEqual({ properties: { userProperties: { a: ['1', '2'], b: [''] }, contentType: 'text/plain', responseTopic: 'replies/me', correlationData: 'id-1', messageExpiryInterval: 60 } });
  });

  it('says what is wrong with a field', () => {
    expect(publishProperties({ ...empty, userProperties: [['', 'v']] })).toEqual({ problem: 'a user property needs a name (its value is "v")' });
    expect(publishProperties({ ...empty, responseTopic: 'a/#' })).toHaveProperty('problem');
    for (const bad of ['0', '-1', '1.5', 'ten', '4294967296']) expect(publishProperties({ ...empty, messageExpiry: bad })).toHaveProperty('problem');
    expect(publishProperties({ ...empty, messageExpiry: '4294967295' })).toEqual({ properties: { messageExpiryInterval: 4294967295 } });
  });
});
