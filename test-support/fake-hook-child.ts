/**
 * Stands in for the uiohook child where the real hook cannot run here (macOS's privacy settings): FAKE_HOOK
 * says how it behaves. `refuse`: throws as uiohook-napi does on macOS without the Accessibility permission.
 * `silent`: starts and delivers nothing. `late`: starts, and sends one move after FAKE_HOOK_DELAY_MS.
 */
const mode = process.env.FAKE_HOOK;

process.on('disconnect', () => process.exit(0));

if (mode === 'refuse') {
  throw Object.assign(new Error('Failed to enable access for assistive devices.'), { code: 'UIOHOOK_ERROR_AXAPI_DISABLED' });
}
process.send?.({ type: 'ready' });
if (mode === 'late') {
  setTimeout(() => process.send?.({ type: 'move', x: 5, y: 6, ts: Date.now() }), Number(process.env.FAKE_HOOK_DELAY_MS ?? 500));
}
setInterval(() => {}, 1 << 30); // stay until the parent disconnects
