import { Aedes, type Client, type PublishPacket } from 'aedes';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, Inbox, retainedOn, subscribe } from '../../test-support/mqtt';
import { Teardown } from '../../test-support/teardown';
import { DropAfterAck } from './drop-after-ack';

const teardown = new Teardown();
afterEach(() => teardown.run());

/** A plain Aedes on a free port whose authorizePublish marks every packet on drop/# for dropping. */
async function aedesWithDropper() {
  const dropper = new DropAfterAck();
  const calls: { topic: string; client: Client | null }[] = [];
  const aedes = await Aedes.createBroker({
    authorizePublish(client, packet, done) {
      if (packet.topic.startsWith('drop/')) dropper.drop(packet);
      done(null);
    },
  });
  dropper.install(aedes);
  // Record how Aedes calls publish() (over the patch), to see it is still (packet, client, done).
  type Publish = (packet: PublishPacket, client: Client | null, done: () => void) => void;
  const mutable = aedes as unknown as { publish: Publish };
  const patched = mutable.publish;
  mutable.publish = (packet, client, done) => {
    calls.push({ topic: packet.topic, client: typeof client === 'function' ? null : client });
    return patched(packet, client, done);
  };
  const server: Server = createServer((socket) => aedes.handle(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  teardown.add(aedes, (a) => new Promise<void>((resolve) => a.close(() => resolve())));
  teardown.add(server, (s) => new Promise((resolve) => s.close(resolve)));
  return { url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`, calls };
}

describe('DropAfterAck', () => {
  it('acknowledges a marked publish at every QoS but neither forwards nor retains it', async () => {
    const { url, calls } = await aedesWithDropper();
    const sub = teardown.add(await connect(url), (c) => c.end(true));
    const pub = teardown.add(await connect(url, { clientId: 'pub' }), (c) => c.end(true));
    const inbox = new Inbox(sub);
    await subscribe(sub, ['drop/#', 'keep/#']);
    for (const qos of [0, 1, 2] as const) {
      await pub.publishAsync(`drop/${qos}`, 'x', { qos, retain: true }); // QoS 1 and 2 resolve on PUBACK / PUBCOMP
      await pub.publishAsync(`keep/${qos}`, 'x', { qos });
    }
    await inbox.waitForCount('keep/2', 1); // sent last: the barrier
    expect(inbox.messages.map((m) => m.topic).sort()).toEqual(['keep/0', 'keep/1', 'keep/2']);
    // Aedes still hands client publishes to broker.publish(packet, client, done), with the client itself.
    expect(calls.filter((c) => c.topic.startsWith('drop/')).map((c) => c.client?.id)).toEqual(['pub', 'pub', 'pub']);

    const late = teardown.add(await connect(url), (c) => c.end(true));
    expect(await retainedOn(late, ['drop/#', 'keep/#'])).toEqual([]); // nothing dropped was retained
  });
});
