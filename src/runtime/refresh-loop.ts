import { setTimeout as sleep } from "node:timers/promises";

export interface RefreshLoopOptions {
  readonly intervalMs: number;
  /** One cycle. It must not throw for expected failures; a throw is logged by onError and the loop goes on. */
  readonly run: (signal: AbortSignal) => Promise<void>;
  readonly onError: (error: unknown) => void;
  readonly signal: AbortSignal;
  readonly now?: () => number;
}

/**
 * The one loop: the first cycle runs at once, then one cycle starts every interval. Cycles never
 * overlap: a cycle longer than the interval delays the next one instead of stacking. Aborting the
 * signal aborts the cycle in flight (its AWS calls get the signal) and ends the loop.
 */
export async function runRefreshLoop(options: RefreshLoopOptions): Promise<void> {
  const now = options.now ?? Date.now;
  const { signal } = options;
  while (!signal.aborted) {
    const started = now();
    try {
      await options.run(signal);
    } catch (error) {
      if (!signal.aborted) options.onError(error);
    }
    const wait = Math.max(0, started + options.intervalMs - now());
    try {
      await sleep(wait, undefined, { signal });
    } catch {
      return; // aborted while waiting
    }
  }
}
