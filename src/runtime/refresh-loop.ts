import { setTimeout as sleep } from "node:timers/promises";
import { CycleDeadlineError } from "../errors.js";

export interface RefreshLoopOptions {
  readonly intervalMs: number;
  /**
   * The bound on one cycle: when it passes, the cycle's signal is aborted with a
   * CycleDeadlineError (its AWS calls end at once, it publishes what it knows) and the next cycle
   * starts on schedule. Unbounded when absent.
   */
  readonly cycleTimeoutMs?: number;
  /**
   * One cycle. `signal` aborts at the deadline or at shutdown; `stopSignal` only at shutdown (for
   * what must finish cleanly even after the deadline, such as renaming a written file). It must not
   * throw for expected failures; a throw is logged by onError and the loop goes on.
   */
  readonly run: (signal: AbortSignal, stopSignal: AbortSignal) => Promise<void>;
  readonly onError: (error: unknown) => void;
  readonly signal: AbortSignal;
  /** A monotonic clock in milliseconds (performance.now): a wall-clock step must not stall the loop. */
  readonly now?: () => number;
}

/**
 * The one loop: the first cycle runs at once, then one cycle starts every interval. Cycles never
 * overlap: a cycle longer than the interval delays the next one instead of stacking, and a cycle
 * longer than its bound is aborted. Aborting `signal` aborts the cycle in flight and ends the loop.
 */
export async function runRefreshLoop(options: RefreshLoopOptions): Promise<void> {
  const now = options.now ?? (() => performance.now());
  const { signal } = options;
  while (!signal.aborted) {
    const started = now();
    const cycle = new AbortController();
    const onStop = () => cycle.abort(signal.reason);
    signal.addEventListener("abort", onStop, { once: true });
    const deadline =
      options.cycleTimeoutMs === undefined
        ? undefined
        : setTimeout(() => cycle.abort(new CycleDeadlineError(options.cycleTimeoutMs as number)), options.cycleTimeoutMs);
    try {
      await options.run(cycle.signal, signal);
    } catch (error) {
      if (!signal.aborted) options.onError(error);
    } finally {
      clearTimeout(deadline);
      signal.removeEventListener("abort", onStop);
    }
    const wait = Math.max(0, started + options.intervalMs - now());
    try {
      await sleep(wait, undefined, { signal });
    } catch {
      return; // aborted while waiting
    }
  }
}
