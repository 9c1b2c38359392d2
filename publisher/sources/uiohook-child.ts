/**
 * Runs in a process of its own: uiohook-napi aborts the whole process when the X display is missing or goes
 * away, or when a listener throws, so the publisher keeps it at arm's length and restarts it.
 * Mouse listeners only: mqlive never captures the keyboard, so no keyboard listener is ever registered.
 */
import { uIOhook, type UiohookMouseEvent as HookMouse, type UiohookWheelEvent } from 'uiohook-napi';
import type { UiohookMouseEvent } from './uiohook-mapping';

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
