import { describe, expect, it } from 'vitest';
import { reservedTopic } from './reserved-topic';

describe('reservedTopic', () => {
  it('refuses $SYS/ and $mqlive/ topics and disconnects, lets others through', () => {
    expect(reservedTopic('$SYS/broker/x')).toMatchObject({ reason: 'reserved_topic', disconnect: true });
    expect(reservedTopic('devices/$SYS/x')).toBeNull();
    expect(reservedTopic('$mqlive/clients/v1/refused')).toMatchObject({ reason: 'reserved_topic', disconnect: true });
    expect(reservedTopic('$SYSTEM')).toBeNull();
  });
});
