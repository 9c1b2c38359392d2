import type { ScreenSize } from '../protocol';
import type { MouseInput, MouseSource, SourceHandlers } from '../publisher/sources/source';

/** A capture source a test drives by hand: what the test emits is what the publisher gets. */
export class ManualSource implements MouseSource {
  readonly kind = 'manual';
  readonly screen: ScreenSize = { width: 800, height: 600 };
  private handlers: SourceHandlers | undefined;

  async start(handlers: SourceHandlers): Promise<void> {
    this.handlers = handlers;
  }

  async stop(): Promise<void> {
    this.handlers = undefined;
  }

  emit(input: MouseInput): void {
    this.handlers?.onInput(input);
  }

  /** Reports that the capture stopped or runs again, as a real source does when its device goes away. */
  captureState(running: boolean, message: string): void {
    this.handlers?.onCaptureState(running, message);
  }
}
