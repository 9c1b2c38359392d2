/**
 * Runs in a process of its own: uiohook-napi aborts the whole process when the X display is missing or goes
 * away, or when a listener throws, so the publisher keeps it at arm's length and restarts it.
 * Mouse listeners only: mqlive never captures the keyboard, so no keyboard listener is ever registered.
 */
import type { UiohookMouseEvent as HookMouse, UiohookWheelEvent } from 'uiohook-napi';
import { ADDON_CHECK_ENV, ADDON_LOAD_FAILED, type UiohookMouseEvent } from './uiohook-mapping';

// The native addon may have no build for this machine (a 32-bit Raspberry Pi, say) or miss a shared X library:
// say so in one line and with an exit code of its own, rather than as a stack trace.
let uIOhook: (typeof import('uiohook-napi'))['uIOhook'];
try {
  ({ uIOhook } = await import('uiohook-napi'));
} catch (error) {
  process.stderr.write(`${String((error as Error).message).split('\n')[0]}\n`);
  process.exit(ADDON_LOAD_FAILED);
}
// Asked only whether the addon loads: it does. The hook is not started, and the parent ends this process
// (the addon's own exit hook fails where there is no display, so exiting here would report an error).
if (process.env[ADDON_CHECK_ENV] === '1') {
  process.send?.({ type: 'loaded' });
  await new Promise(() => {});
}

function send(event: UiohookMouseEvent): void {
  try {
    process.send?.(event);
  } catch {
    // The parent is gone; the 'disconnect' handler below ends this process.
  }
}

const position = (type: UiohookMouseEvent['type']) => (e: HookMouse) => send({ type, x: e.x, y: e.y, button: Number(e.button), ts: Date.now() });

uIOhook.on('mousemove', position('move')); // drags arrive as moves too
uIOhook.on('mousedown', position('down'));
uIOhook.on('mouseup', position('up'));
uIOhook.on('wheel', (e: UiohookWheelEvent) =>
  send({ type: 'wheel', x: e.x, y: e.y, direction: e.direction, rotation: e.rotation, ts: Date.now() }),
);

process.on('disconnect', () => {
  uIOhook.stop();
  process.exit(0);
});

uIOhook.start();
process.send?.({ type: 'ready' });
