/**
 * Ports a command is about to listen on, checked before anything starts: every port in use is said in one line,
 * each with a port that is free now to use instead (probed, not guessed), in the words of the flag or, under make,
 * of the make variable. Shared by `mqlive broker` and `mqlive up`.
 */
import { createServer } from 'node:net';
import { CommandError, settingName, settingWith } from './command';

export interface WantedPort {
  /** The flag that sets it: `mqtt-port`, `http-port`, `mqtts-port`. */
  flag: string;
  host: string;
  /** 0 takes any free port: never in use. */
  port: number;
}

/** How far past a port in use a free one is looked for; past it, 0 (any free port) is suggested. */
const SUGGESTION_RANGE = 100;

/** Whether `port` on `host` can be listened on now; an error other than "in use" is one line naming the flag. */
export function isPortFree(host: string, port: number, flag: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve(false);
      else if (error.code === 'EACCES') reject(new CommandError(`no permission to listen on ${host}:${port}: choose a port above 1023 with ${settingName(flag)}`));
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') reject(new CommandError(`cannot listen on ${host}: this machine has no such address (${settingName('host')})`));
      else reject(new CommandError(`cannot listen on ${host}:${port} (${error.code ?? error.message})`));
    });
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

/** Checks every port, then throws one CommandError that names every port in use (see portsInUseMessage). */
export async function checkPortsFree(wanted: WantedPort[]): Promise<void> {
  const inUse: WantedPort[] = [];
  for (const w of wanted) if (w.port !== 0 && !(await isPortFree(w.host, w.port, w.flag))) inUse.push(w);
  if (inUse.length > 0) throw new CommandError(await portsInUseMessage(inUse, wanted));
}

/**
 * `port 8080 on 127.0.0.1 is already in use: stop what holds it, or choose another with --http-port 8081 (free now)`,
 * or for several `ports 1883 and 8080 on 127.0.0.1 are already in use: … choose others with --mqtt-port 1885
 * --http-port 8081 (free now)`. Each suggestion is the first port after the one in use that is free now and not
 * one of `wanted` (nor suggested for another).
 */
export async function portsInUseMessage(inUse: WantedPort[], wanted: WantedPort[] = inUse): Promise<string> {
  const avoid = new Set(wanted.map((w) => w.port));
  const choices: string[] = [];
  for (const w of inUse) {
    const free = await nextFreePort(w, avoid);
    avoid.add(free);
    choices.push(settingWith(w.flag, free));
  }
  const several = inUse.length > 1;
  const hosts = new Set(inUse.map((w) => w.host));
  const where =
    hosts.size === 1
      ? `${several ? 'ports' : 'port'} ${list(inUse.map((w) => String(w.port)))} on ${inUse[0]!.host}`
      : list(inUse.map((w) => `port ${w.port} on ${w.host}`));
  const free = choices.some((c) => /[ =]0$/.test(c)) ? ' (0: any free port)' : ' (free now)';
  return several
    ? `${where} are already in use: stop what holds them, or choose others with ${choices.join(' ')}${free}`
    : `${where} is already in use: stop what holds it, or choose another with ${choices[0]}${free}`;
}

async function nextFreePort(w: WantedPort, avoid: Set<number>): Promise<number> {
  for (let port = w.port + 1; port <= Math.min(w.port + SUGGESTION_RANGE, 65535); port += 1) {
    if (!avoid.has(port) && (await isPortFree(w.host, port, w.flag).catch(() => false))) return port;
  }
  return 0;
}

/** `a`, `a and b`, `a, b and c`. */
function list(items: string[]): string {
  return items.length < 2 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
