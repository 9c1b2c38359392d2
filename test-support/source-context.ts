import type { SourceContext } from '../publisher/sources/source';

/**
 * A SourceContext for tests: Linux with an empty environment, no X display and no command runner unless the
 * test gives them; what the source says is kept in `lines`.
 */
export function sourceContext(overrides: Partial<SourceContext> = {}) {
  const lines: string[] = [];
  const ctx: SourceContext = {
    platform: 'linux',
    env: {},
    say: (line) => lines.push(line),
    run: async () => Promise.reject(new Error('no command here')),
    probeX11: async () => Promise.reject(new Error('no X display: DISPLAY is not set')),
    ...overrides,
  };
  return { ctx, lines };
}
