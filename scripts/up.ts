/**
 * `make up`: runs the broker and the capture publisher as one supervised group, and prints where to look.
 * Ctrl-C or SIGTERM stops the publisher first (so the device says `offline`), then the broker, and exits 0.
 * If one part dies, the other is stopped and the exit code says which: 11 the broker, 12 the publisher.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseOptions, parsePort, UsageError, type OptionSpec } from '../protocol/cli-options';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = import.meta.resolve('tsx');

const OPTIONS = {
  host: { env: 'MQLIVE_HOST', type: 'string', help: 'address the broker binds to' },
  'mqtt-port': { env: 'MQLIVE_MQTT_PORT', type: 'string', help: 'MQTT over TCP port' },
  'http-port': { env: 'MQLIVE_HTTP_PORT', type: 'string', help: 'viewer and MQTT over WebSocket port' },
  device: { env: 'MQLIVE_DEVICE', type: 'string', help: 'device id of the publisher' },
  source: { env: 'MQLIVE_SOURCE', type: 'string', help: 'auto, uiohook or demo' },
} satisfies Record<string, OptionSpec>;

const EXIT_CODES = { broker: 11, publisher: 12 } as const;
type Part = keyof typeof EXIT_CODES;

interface Running {
  name: Part;
  child: ChildProcess;
  exited: Promise<number | string>;
}

const running: Running[] = [];
let stopping = false;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function fail(line: string, code: number): never {
  process.stderr.write(`make up: ${line}\n`);
  process.exit(code);
}

/** A port already taken gets one line with the make variable that changes it. */
function checkPortFree(host: string, port: number, variable: string): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') fail(`port ${port} on ${host} is in use: stop what holds it, or run make up ${variable}=${port + 1}`, 1);
      fail(`cannot listen on ${host}:${port} (${error.code})`, 1);
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/** Starts one part in its own process group, so a terminal's Ctrl-C reaches only this supervisor. */
function start(name: Part, entry: string, args: string[], onLine: (line: string) => void = () => {}): Running {
  const child = spawn(process.execPath, ['--import', TSX, entry, ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    let rest = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        say(`[${name}] ${line}`);
        onLine(line);
      }
    });
  }
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const part: Running = { name, child, exited };
  running.push(part);
  void exited.then((result) => {
    if (stopping) return;
    say(`make up: the ${name} stopped (${typeof result === 'number' ? `exit code ${result}` : result}); stopping the rest`);
    void stopAll(EXIT_CODES[name]);
  });
  return part;
}

/** Stops the publisher before the broker, each by its PID, and exits with `code`. */
async function stopAll(code: number): Promise<never> {
  stopping = true;
  for (const part of [...running].reverse()) {
    if (part.child.exitCode !== null || part.child.signalCode !== null) continue;
    part.child.kill('SIGTERM');
    const timer = setTimeout(() => part.child.kill('SIGKILL'), 4000);
    await part.exited;
    clearTimeout(timer);
  }
  say(code === 0 ? 'mqlive stopped: publisher and broker have exited.' : `mqlive stopped with exit code ${code}.`);
  process.exit(code);
}

// Never leave a part behind, whatever ends this process.
process.on('exit', () => {
  for (const part of running) if (part.child.exitCode === null && part.child.signalCode === null) part.child.kill('SIGKILL');
});

async function main(): Promise<void> {
  let options;
  try {
    options = parseOptions(OPTIONS, process.argv.slice(2), process.env);
  } catch (error) {
    fail((error as Error).message, 2);
  }
  const host = options.host ?? '127.0.0.1';
  let mqttPort: number;
  let httpPort: number;
  try {
    mqttPort = parsePort(options['mqtt-port'], 1883, 'mqtt-port');
    httpPort = parsePort(options['http-port'], 8080, 'http-port');
  } catch (error) {
    fail((error as UsageError).message.replace('--mqtt-port', 'MQTT_PORT').replace('--http-port', 'HTTP_PORT'), 2);
  }
  await checkPortFree(host, mqttPort, 'MQTT_PORT');
  await checkPortFree(host, httpPort, 'HTTP_PORT');

  process.once('SIGINT', () => void stopAll(0));
  process.once('SIGTERM', () => void stopAll(0));

  const ready = new Promise<{ mqtt: string; ws: string; http: string }>((resolve) => {
    start('broker', 'broker/cli.ts', ['--host', host, '--mqtt-port', String(mqttPort), '--http-port', String(httpPort), '--log-format', 'pretty'], (line) => {
      const m = line.match(/listening: MQTT (\S+), MQTT over WebSocket (\S+), viewer (\S+)/);
      if (m) resolve({ mqtt: m[1]!, ws: m[2]!, http: m[3]! });
    });
  });
  const urls = await ready;
  const publisherArgs = ['--url', urls.mqtt, '--source', options.source ?? 'auto'];
  if (options.device) publisherArgs.push('--device', options.device);
  start('publisher', 'publisher/cli.ts', publisherArgs);

  const { hostname, port } = new URL(urls.mqtt);
  say('');
  say('mqlive is up');
  say(`  Viewer:  ${urls.http}`);
  say(`  MQTT:    ${urls.mqtt}   (over WebSocket: ${urls.ws})`);
  say(`  Watch:   mosquitto_sub -h ${hostname} -p ${port} -t 'devices/#' -v`);
  say('  Stop:    Ctrl-C');
  say('');
}

await main();
