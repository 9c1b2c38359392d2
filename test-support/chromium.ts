import { chromium, type Browser } from 'playwright-core';
import { requireTool } from './tools';

/** Debian's Chromium, headless, with no network of its own beyond what the page asks for; `extraArgs` added. */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  requireTool('chromium', 'chromium');
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}
