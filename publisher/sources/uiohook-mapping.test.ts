import { describe, expect, it } from 'vitest';
import { validateClick, validateScroll } from '../../protocol';
import { mapUiohookEvent, WHEEL_HORIZONTAL, WHEEL_VERTICAL } from './uiohook-mapping';

const at = { x: 800, y: 879, ts: 1000 };

describe('uiohook event mapping', () => {
  it('names uiohook buttons 1 to 5', () => {
    const names = [1, 2, 3, 4, 5].map((button) => mapUiohookEvent({ type: 'down', button, ...at }));
    expect(names.map((n) => n && n.type === 'button' && n.button)).toEqual(['left', 'right', 'middle', 'back', 'forward']);
  });

  it('builds press and release from mousedown and mouseup', () => {
    expect(mapUiohookEvent({ type: 'down', button: 1, ...at })).toEqual({ type: 'button', button: 'left', pressed: true, ...at });
    expect(mapUiohookEvent({ type: 'up', button: 2, ...at })).toEqual({ type: 'button', button: 'right', pressed: false, ...at });
  });

  it('ignores buttons the contract has no name for', () => {
    expect(mapUiohookEvent({ type: 'down', button: 0, ...at })).toBeNull();
    expect(mapUiohookEvent({ type: 'up', button: 9, ...at })).toBeNull();
  });

  it('turns wheel rotation into pynput signs: dy > 0 up, dx > 0 right', () => {
    const wheel = (direction: number, rotation: number) => mapUiohookEvent({ type: 'wheel', direction, rotation, ...at });
    expect(wheel(WHEEL_VERTICAL, -1)).toMatchObject({ dx: 0, dy: 1 }); // up
    expect(wheel(WHEEL_VERTICAL, 1)).toMatchObject({ dx: 0, dy: -1 }); // down
    expect(wheel(WHEEL_HORIZONTAL, -1)).toMatchObject({ dx: -1, dy: 0 }); // left
    expect(wheel(WHEEL_HORIZONTAL, 1)).toMatchObject({ dx: 1, dy: 0 }); // right
    expect(wheel(WHEEL_VERTICAL, 3)).toMatchObject({ dy: -1 }); // one message per notch
    expect(wheel(WHEEL_VERTICAL, 0)).toBeNull();
  });

  it('produces payloads the contract accepts', () => {
    const click = mapUiohookEvent({ type: 'down', button: 3, ...at });
    const scroll = mapUiohookEvent({ type: 'wheel', direction: WHEEL_VERTICAL, rotation: 1, ...at });
    const { type: _c, ...clickPayload } = click!;
    const { type: _s, ...scrollPayload } = scroll!;
    expect(validateClick({ ...clickPayload, seq: 0 })).toBeNull();
    expect(validateScroll({ ...scrollPayload, seq: 1 })).toBeNull();
  });
});
