/**
 * `mqlive up` (and `make up`): runs the broker and the capture publisher as one supervised group, and prints where to look.
 * Ctrl-C or SIGTERM stops the publisher first (so the device says `offline`), then the broker, and exits 0.
 * If one part dies, the other is stopped and the exit code says which: 11 the broker, 12 the publisher.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { homedir } from 'node:os';
import { sep } from 'node:path';
import { createInterface } from 'node:readline';
import type { ReadyEvent } from '../broker/cli';
import { assertId } from '../protocol';
import { defineCommand, EXIT, settingName, UsageError, userValue } from '../cli/command';
import { checkPortsFree } from '../cli/ports';
import { portOption, type OptionSpecs } from '../cli/options';
import { findSource } from '../publisher/sources';
import { SourceFlagError } from '../publisher/sources/source';

const OPTIONS = {
  host: { env: 'MQLIVE_HOST', type: 'string', help: 'address the broker binds to (default 127.0.0.1)', default: '127.0.0.1' },
  'mqtt-port': portOption({ env: 'MQLIVE_MQTT_PORT', help: 'MQTT over TCP port (default 1883, 0 = any free port)', default: 1883 }),
  'http-port': portOption({ env: 'MQLIVE_HTTP_PORT', help: 'viewer and MQTT over WebSocket port (default 8080, 0 = any free port)', default: 8080 }),
  'data-dir': { env: 'MQLIVE_DATA_DIR', type: 'string', help: "the broker's data folder (mqlive broker --help; none keeps nothing on disk)" },
  device: { env: 'MQLIVE_DEVICE', type: 'string', help: 'device id of the publisher (default: this host name)' },
  source: { env: 'MQLIVE_SOURCE', type: 'string', help: 'capture source of the publisher: auto, or one that `mqlive publisher --help` lists (default auto)', default: 'auto' },
} satisfies OptionSpecs;

const EXIT_CODES = { broker: EXIT.brokerDied, publisher: EXIT.publisherDied } as const;
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

/**
 * Starts one part as `mqlive <part>` in its own process group, so a terminal's Ctrl-C reaches only this
 * supervisor. The part runs the same way this process does (compiled, or through tsx in development).
 */
function start(name: Part, args: string[], extraStdio: 'pipe' | 'ignore' = 'ignore'): Running {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, name, ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', extraStdio],
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    let rest = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        say(`[${name}] ${line}`);
      }
    });
  }
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const part: Running = { name, child, exited };
  running.push(part);
  void exited.then((result) => {
    if (stopping) return;
    say(`mqlive up: the ${name} stopped (${typeof result === 'number' ? `exit code ${result}` : result}); stopping the rest`);
    void stopAll(EXIT_CODES[name]);
  });
  return part;
}

/**
 * Stops the publisher before the broker, each by its PID, with the signal this process got (so their logs say
 * SIGINT after a Ctrl-C, not SIGTERM), and exits with `code`.
 */
async function stopAll(code: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<never> {
  stopping = true;
  for (const part of [...running].reverse()) {
    if (part.child.exitCode !== null || part.child.signalCode !== null) continue;
    part.child.kill(signal);
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

export const upCommand = defineCommand({
  name: 'up',
  summary: 'runs the broker and the capture publisher as one supervised group, and prints where to look',
  options: OPTIONS,
  async run(options) {
    const host = options.host;
    // A bad id is said before anything starts, not by the publisher after the broker is up.
    if (options.device !== undefined) userValue(() => assertId(options.device));
    checkSource(options.source);
    const mqttPort = options['mqtt-port'];
    const httpPort = options['http-port'];
    // Both checked before anything starts, and said together (each with a port free now).
    await checkPortsFree([
      { flag: 'mqtt-port', host, port: mqttPort },
      { flag: 'http-port', host, port: httpPort },
    ]);

    process.once('SIGINT', () => void stopAll(0, 'SIGINT'));
    process.once('SIGTERM', () => void stopAll(0));

    const brokerArgs = ['--host', host, '--mqtt-port', String(mqttPort), '--http-port', String(httpPort), '--log-format', 'pretty', '--ready-fd', '3'];
    if (options['data-dir'] !== undefined) brokerArgs.push('--data-dir', options['data-dir']);
    const broker = start('broker', brokerArgs, 'pipe');
    const urls = await readyEvent(broker);
    // Plain lines for the terminal, as the broker's, even with MQLIVE_LOG_FORMAT=json in the environment.
    const publisherArgs = ['--url', urls.mqtt, '--source', options.source, '--log-format', 'pretty'];
    if (options.device) publisherArgs.push('--device', options.device);
    start('publisher', publisherArgs);

    const { hostname, port } = new URL(urls.mqtt);
    say('');
    say('mqlive is up');
    say(`  Viewer:  ${urls.http}`);
    say(`  MQTT:    ${urls.mqtt}   (over WebSocket: ${urls.ws})`);
    say(`  Watch:   mosquitto_sub -h ${hostname} -p ${port} -t 'devices/#' -v`);
    say(`  Data:    ${urls.dataDir ? homeAsTilde(urls.dataDir) : 'nothing kept on disk (--data-dir none)'}`);
    say('  Stop:    Ctrl-C');
    say('');
  },
});

/** A source the publisher would refuse is said now, before the broker starts, in the words of the publisher. */
function checkSource(source: string): void {
  try {
    findSource(source);
  } catch (error) {
    if (error instanceof SourceFlagError) throw new UsageError(error.message.replace(/^--source\b/, settingName('source')));
    throw error;
  }
}

/** A folder under the home folder as ~/…, as people write it. */
function homeAsTilde(path: string): string {
  const home = homedir();
  return path.startsWith(`${home}${sep}`) ? `~${path.slice(home.length)}` : path;
}

/** The broker's JSON ready line, read from its --ready-fd pipe. */
async function readyEvent(broker: Running): Promise<ReadyEvent> {
  // The pipe carries the ready line alone. If the broker stops first, start() has already said so and is stopping
  // everything.
  const [line] = (await once(createInterface({ input: broker.child.stdio[3] as NodeJS.ReadableStream }), 'line')) as [string];
  return JSON.parse(line) as ReadyEvent;
}
