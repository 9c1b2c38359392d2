import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { closed, connect, subscribe } from '../test-support/mqtt';
import { rawRequest } from '../test-support/raw-http';
import { brokerReady, spawnMqlive } from '../test-support/processes';

describe('broker CLI', () => {
  it('prints the real addresses once both listeners are bound, and exits 0 on SIGTERM with clients connected', async () => {
    const broker = spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json']);
    try {
      const { mqtt: mqttUrl, ws: wsUrl, http: httpUrl } = await brokerReady(broker);
      expect(mqttUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
      expect(wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/mqtt$/);
      expect((await fetch(httpUrl + 'healthz')).status).toBe(200);

      const clients = await Promise.all([connect(mqttUrl), connect(wsUrl), connect(mqttUrl)]);
      const disconnected = clients.map(closed);
      expect(await broker.stop('SIGTERM')).toBe(0);
      await Promise.all(disconnected);
      for (const c of clients) c.end(true);
    } finally {
      await broker.stop('SIGKILL');
    }
  });

  it('takes its ports from MQLIVE_* variables', async () => {
    const broker = spawnMqlive(['broker'], { MQLIVE_MQTT_PORT: '0', MQLIVE_HTTP_PORT: '0', MQLIVE_LOG_FORMAT: 'json' });
    try {
      await brokerReady(broker);
    } finally {
      expect(await broker.stop('SIGINT')).toBe(0);
    }
  });

  it('escapes its --id in /metrics as the Prometheus text format asks (a quote or backslash cannot break the page)', async () => {
    const broker = spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', '--id', 'a"b\\c']);
    try {
      const { http } = await brokerReady(broker);
      const metrics = await (await fetch(new URL('/metrics', http))).text();
      expect(metrics.split('\n')).toContain('mqlive_instance_info{id="a\\"b\\\\c"} 1');
    } finally {
      await broker.stop('SIGKILL');
    }
  });

  it('takes the caps and --allowed-hosts from flags and MQLIVE_* variables', async () => {
    const broker = spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', '--allowed-hosts', 'dash.example'], {
      MQLIVE_MAX_SUBSCRIPTIONS_PER_CLIENT: '2',
    });
    try {
      const { mqtt: mqttUrl, http: httpUrl } = await brokerReady(broker);
      const client = await connect(mqttUrl);
      expect(await subscribe(client, ['a', 'b', 'c'])).toEqual([1, 1, 128]);
      client.end(true);
      const port = Number(new URL(httpUrl).port);
      expect((await rawRequest(port, '/healthz', { Host: `dash.example:${port}` })).status).toBe(200);
      expect((await rawRequest(port, '/healthz', { Host: `evil.example:${port}` })).status).toBe(403);
    } finally {
      expect(await broker.stop('SIGTERM')).toBe(0);
    }
  });

  it('says in one line which port is in use and how to change it', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const broker = spawnMqlive(['broker', '--mqtt-port', String(port), '--http-port', '0']);
      expect(await broker.exited).toBe(1);
      // One line, with a port that was free when it was said (e2e/ports-in-use.test.ts checks that it is).
      expect(broker.output().trim()).toMatch(
        new RegExp(`^mqlive broker: port ${port} on 127\\.0\\.0\\.1 is already in use: stop what holds it, or choose another with --mqtt-port \\d+ \\(free now\\)$`),
      );
    } finally {
      blocker.close();
    }
  });

  it('refuses an unknown flag with usage exit code 2 and no stack trace', async () => {
    const broker = spawnMqlive(['broker', '--mqtt-prot', '1']);
    expect(await broker.exited).toBe(2);
    expect(broker.output().trim()).toBe('mqlive broker: unknown option --mqtt-prot');
  });
});
