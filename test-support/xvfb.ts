import { spawn, type ChildProcess } from 'node:child_process';
import { requireTool } from './tools';

export interface Xvfb {
  display: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a real X server (Xvfb) on a display number it picks itself (-displayfd), so tests never collide. */
export async function startXvfb(width = 1280, height = 800, display?: string): Promise<Xvfb> {
  requireTool('Xvfb', 'xvfb');
  // A given display (to bring one back after a test stopped it) is passed as is; -displayfd still reports it.
  const where = display ? [display] : [];
  const xvfb = spawn('Xvfb', [...where, '-displayfd', '3', '-screen', '0', `${width}x${height}x24`, '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  xvfb.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const number = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Xvfb did not start within 10 s: ${stderr}`)), 10_000);
    let out = '';
    xvfb.stdio[3]!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out.trim());
      }
    });
    xvfb.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited with ${code}: ${stderr}`));
    });
  });
  const exited = new Promise<void>((resolve) => xvfb.once('exit', () => resolve()));
  return {
    display: `:${number}`,
    process: xvfb,
    async stop() {
      if (xvfb.exitCode === null && xvfb.signalCode === null) xvfb.kill('SIGTERM');
      await exited;
    },
  };
}
