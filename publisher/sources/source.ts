import type { MouseButton, ScreenSize } from '../../protocol';

/** One mouse event as a capture source reports it; `ts` is epoch ms at capture. */
export type MouseInput =
  | { type: 'move'; x: number; y: number; ts: number }
  | { type: 'button'; x: number; y: number; button: MouseButton; pressed: boolean; ts: number }
  | { type: 'wheel'; x: number; y: number; dx: number; dy: number; ts: number };

export interface SourceHandlers {
  onInput(input: MouseInput): void;
  /**
   * The capture stopped or started again by itself (the X display went away and came back, say):
   * `running` says which, `message` says what happened in words for a person.
   */
  onCaptureState(running: boolean, message: string): void;
}

/** A capture source: start() begins delivering input to the handlers, stop() ends it for good. */
export interface MouseSource {
  /** Named in meta's `source` (an open word): the registry name of the source. */
  readonly kind: string;
  readonly screen: ScreenSize | null;
  start(handlers: SourceHandlers): Promise<void>;
  stop(): Promise<void>;
}
