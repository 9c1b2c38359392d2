import { describe, expect, it } from 'vitest';
import { explainError } from './connection-report';

// A refused login reads the same whichever MQTT version said it: 3.1.1's return code or MQTT 5's reason code.
describe('explainError', () => {
  const refused = (code: number) => Object.assign(new Error('refused'), { code });
  const options = { url: 'mqtt://127.0.0.1:1883', username: 'alice', device: 'alice' };

  it.each([
    [4, '4'],
    [0x86, '0x86'],
  ])('a bad login, CONNACK %s', (code, said) => {
    expect(explainError(refused(code), options)).toEqual({ reason: 'bad_login', line: `The broker refused the login of "alice" (CONNACK ${said}, bad user name or password): check --username and MQLIVE_PASSWORD` });
  });

  it.each([
    [5, '5'],
    [0x87, '0x87'],
  ])('not authorized, CONNACK %s, for another device', (code, said) => {
    expect(explainError(refused(code), { ...options, device: 'laptop' })?.line).toMatch(new RegExp(`as device "laptop" \\(CONNACK ${said}, not authorized\\): .* use --device alice`));
  });

  it('anything else the broker says is one line with its code', () => {
    expect(explainError(refused(0x88), options)).toEqual({ reason: 'connack', line: 'The broker refused the connection (CONNACK 136: refused)' });
  });
});
