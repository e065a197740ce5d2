import { performance } from "node:perf_hooks";

/**
 * Time, injected. Every duration (intervals, TTLs, backoff, deadlines, staleness) is measured on
 * the monotonic clock, so a wall-clock step neither stalls nor rushes discovery; the wall clock is
 * only for timestamps shown to people (logs, cloudmap_sd_last_success_timestamp_seconds).
 */
export interface Clock {
  /** Milliseconds on a monotonic clock with an arbitrary origin. */
  monotonicMs(): number;
  /** Milliseconds since the Unix epoch. */
  wallMs(): number;
}

export const systemClock: Clock = {
  monotonicMs: () => performance.now(),
  wallMs: () => Date.now(),
};

/** A clock that moves only when told to: tests step time instead of sleeping. */
export class ManualClock implements Clock {
  constructor(
    private monotonic = 0,
    private wall = Date.UTC(2026, 0, 1),
  ) {}

  monotonicMs(): number {
    return this.monotonic;
  }

  wallMs(): number {
    return this.wall;
  }

  advance(ms: number): void {
    this.monotonic += ms;
    this.wall += ms;
  }

  /** Steps the wall clock only, as NTP or an operator would. */
  stepWall(ms: number): void {
    this.wall += ms;
  }
}
