import type { RejectReason } from '../metrics';

/**
 * Why an admission step refuses a PUBLISH. `disconnect`: the client is refused and disconnected (Aedes closes
 * it); otherwise the packet is acknowledged but neither forwarded nor retained (MQTT 3.1.1 has no negative
 * acknowledgement), and the client stays.
 */
export interface Refusal {
  reason: RejectReason;
  why: string;
  disconnect: boolean;
}
