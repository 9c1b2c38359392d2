import type { MouseButton } from '../../protocol';
import type { MouseInput } from './source';

/** uiohook-napi's button numbers (X buttons 2 and 3 arrive swapped: uiohook 2 is the right button). */
const UIOHOOK_BUTTONS: Record<number, MouseButton> = { 1: 'left', 2: 'right', 3: 'middle', 4: 'back', 5: 'forward' };

/** The capture child exits with this code when uiohook-napi does not load here (uiohook-child.ts). */
export const ADDON_LOAD_FAILED = 78;
/** With this variable set to 1, the capture child only loads uiohook-napi, says `{type: 'loaded'}` and waits to be ended. */
export const ADDON_CHECK_ENV = 'MQLIVE_UIOHOOK_CHECK';

export const WHEEL_VERTICAL = 3;
export const WHEEL_HORIZONTAL = 4;

/** The fields of a uiohook-napi mouse or wheel event the publisher uses. */
export interface UiohookMouseEvent {
  type: 'move' | 'down' | 'up' | 'wheel';
  x: number;
  y: number;
  button?: number;
  direction?: number;
  rotation?: number;
  ts: number;
}

/**
 * Maps a uiohook event to a contract input, or null for what the contract has no word for (an unknown
 * button). Wheel: uiohook's rotation -1 is up or left; the contract follows pynput, `dy > 0` up, `dx > 0` right.
 */
export function mapUiohookEvent(e: UiohookMouseEvent): MouseInput | null {
  const { x, y, ts } = e;
  switch (e.type) {
    case 'move':
      return { type: 'move', x, y, ts };
    case 'down':
    case 'up': {
      const button = UIOHOOK_BUTTONS[e.button ?? 0];
      return button ? { type: 'button', x, y, button, pressed: e.type === 'down', ts } : null;
    }
    case 'wheel': {
      const rotation = Math.sign(e.rotation ?? 0);
      if (rotation === 0) return null;
      if (e.direction === WHEEL_HORIZONTAL) return { type: 'wheel', x, y, dx: rotation, dy: 0, ts };
      return { type: 'wheel', x, y, dx: 0, dy: -rotation, ts };
    }
  }
}
