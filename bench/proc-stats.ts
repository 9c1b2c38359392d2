import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** A /proc file of a process, or undefined once the process has gone (a stopped broker must not crash the bench). */
function procFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat; NaN once it has gone. */
export function cpuSeconds(pid: number): number {
  const stat = procFile(`/proc/${pid}/stat`);
  if (!stat) return NaN;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime (fields 14 and 15)
}

/** Resident memory in MiB, from /proc/PID/status; NaN once the process has gone. */
export function rssMiB(pid: number): number {
  const m = procFile(`/proc/${pid}/status`)?.match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The process's own resident memory in MiB (RssAnon: heap, stacks, malloc; not the mapped executable), NaN once gone. */
export function rssAnonMiB(pid: number): number {
  const m = procFile(`/proc/${pid}/status`)?.match(/RssAnon:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Open file descriptors, from /proc/PID/fd; NaN once the process has gone. */
export function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

/**
 * CPU seconds every process on the machine has used (all cores), from /proc/stat: user, nice and system time.
 * Interrupt time is left out: on loopback it is mostly the measured traffic itself, not another process.
 */
export function machineCpuSeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [user, nice, system] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system!) / TICKS_PER_SECOND;
}

/** CPU seconds the machine has spent in interrupts and soft interrupts (all cores): on loopback, mostly network work. */
export function machineIrqSeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [irq, softirq] = line.trim().split(/\s+/).slice(6, 8).map(Number);
  return (irq! + softirq!) / TICKS_PER_SECOND;
}
