import { describe, expect, it } from 'vitest';
import { disconnectProblem, explainError } from './connection-report';

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

  it('a DISCONNECT says its code, name and reason string (made printable); a session taken over names --device', () => {
    const at = { url: 'mqtt://b:1883', device: 'pi' };
    expect(disconnectProblem(0x96, 'too\nfast', at)).toEqual({ reason: 'disconnected', line: 'The broker at mqtt://b:1883 ended the connection (0x96 Message rate too high: too\\nfast)' });
    expect(disconnectProblem(0x8e, undefined, at).line).toBe("Another connection took this device's client id at mqtt://b:1883 (0x8e Session taken over): another publisher runs with --device pi; give one of them another --device");
  });
});
