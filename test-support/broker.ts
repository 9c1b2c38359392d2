import { startBroker, type RunningBroker } from '../broker/broker';
import { capturingLogger } from './logs';

/** A real mqlive broker in this process on free ports, with its logs readable by the test. */
export async function startTestBroker(viewerDir?: string) {
  const logs = capturingLogger();
  const broker: RunningBroker = await startBroker({ host: '127.0.0.1', mqttPort: 0, httpPort: 0, log: logs.log, viewerDir });
  return { broker, logs };
}
