import type { MouseButton, ScreenSize } from '../../protocol';
import type { Say } from '../output';

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
  /** Where the screen size came from, when a source can tell (`flag`, `x11`, `platform`, `default`): meta's `screenFrom`. */
  readonly screenFrom?: string;
  start(handlers: SourceHandlers): Promise<void>;
  stop(): Promise<void>;
}

/** Runs a program and resolves with its stdout; rejects when it cannot run or exits non-zero. */
export type CommandRunner = (file: string, args: string[]) => Promise<string>;

/** What a source may ask of the machine when it opens: injected, so tests can play macOS or Wayland. */
export interface SourceContext {
  platform: NodeJS.Platform;
  env: Readonly<Record<string, string | undefined>>;
  /** One line for the person running the publisher (with its event, for --log-format json). */
  say: Say;
  run: CommandRunner;
  /** Checks an X display and reads its screen size (x11-display.ts), or rejects saying why. */
  probeX11(display: string | undefined): Promise<ScreenSize>;
}

/** A flag of one source, in the publisher's `--help` and `MQLIVE_*` style; 'list' may be given several times. */
export interface SourceFlag {
  env: string;
  type: 'string' | 'list' | 'flag';
  help: string;
}

export type SourceFlagValues = Readonly<Record<string, string | string[] | boolean | undefined>>;

/** A source's flag has a bad value: the CLI reports it as a usage error (exit code 2), and `auto` does not fall back. */
export class SourceFlagError extends Error {
  override name = 'SourceFlagError';
}

/** One line of the source registry (sources/index.ts). */
export interface SourceEntry {
  /** `--source NAME`, and meta's `source`. */
  name: string;
  /** What follows `NAME:` when the source takes one (`FILE` for `--source replay:FILE`); its opener gets it. */
  argument?: string;
  /** One line for `--help`. */
  description: string;
  /** Whether `--source auto` tries it (in registry order). */
  auto: boolean;
  /** Flags only this source reads; the publisher's CLI offers them. */
  flags?: Record<string, SourceFlag>;
  /** Opens the source, or rejects saying in one sentence why it cannot capture here. */
  open(context: SourceContext, flags: SourceFlagValues, argument?: string): Promise<MouseSource>;
}
