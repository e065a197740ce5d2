/**
 * When to try a failed part of the estate again. Pure: time comes in as `now` (milliseconds on the
 * caller's monotonic clock), so tests step numbers instead of sleeping.
 *
 * After n consecutive failures of a key, its next attempt is not before
 * now + min(maxMs, baseMs * 2^(n-1) * (1 + jitter * u)), where u in [0, 1) is derived from the key
 * and n. The jitter only ever lengthens a delay (never below the exponential step, never above
 * maxMs), and it is deterministic: the same key fails on the same schedule in every run, while
 * different keys that failed together (one throttling burst) spread their retries out.
 */

export interface RetryScheduleOptions {
  /** The delay after the first failure. */
  readonly baseMs?: number;
  /** The longest delay, however many failures. */
  readonly maxMs?: number;
  /** How much longer than the exponential step a delay may be, as a fraction of it (0: none). */
  readonly jitter?: number;
}

export const DEFAULT_RETRY_SCHEDULE: Required<RetryScheduleOptions> = { baseMs: 5_000, maxMs: 300_000, jitter: 0.2 };

/** The delay before the next attempt after `failures` consecutive failures of `key`. */
export function backoffDelayMs(key: string, failures: number, options: Required<RetryScheduleOptions>): number {
  if (failures < 1) return 0;
  const step = options.baseMs * 2 ** (failures - 1);
  return Math.min(options.maxMs, step * (1 + options.jitter * unitHash(`${key}#${failures}`)));
}

export class RetrySchedule {
  private readonly options: Required<RetryScheduleOptions>;
  private readonly entries = new Map<string, { failures: number; notBefore: number }>();

  constructor(options: RetryScheduleOptions = {}) {
    this.options = { ...DEFAULT_RETRY_SCHEDULE, ...options };
    const { baseMs, maxMs, jitter } = this.options;
    if (!(Number.isFinite(baseMs) && baseMs > 0)) throw new RangeError(`baseMs must be a positive number, got ${baseMs}`);
    if (!(Number.isFinite(maxMs) && maxMs >= baseMs)) throw new RangeError(`maxMs must be a number ≥ baseMs (${baseMs}), got ${maxMs}`);
    if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`jitter must be between 0 and 1, got ${jitter}`);
  }

  /** May `key` be tried at `now`? A key that never failed, or whose delay has passed, may. */
  due(key: string, now: number): boolean {
    const entry = this.entries.get(key);
    return entry === undefined || now >= entry.notBefore;
  }

  /** Consecutive failures of `key` since its last success. */
  failures(key: string): number {
    return this.entries.get(key)?.failures ?? 0;
  }

  /** Records a failure of `key` at `now`; returns the time before which it should not be tried again. */
  failed(key: string, now: number): number {
    const failures = this.failures(key) + 1;
    const notBefore = now + backoffDelayMs(key, failures, this.options);
    this.entries.set(key, { failures, notBefore });
    return notBefore;
  }

  /** A success ends the backoff: the next failure starts again from baseMs. */
  succeeded(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every key that is not in use any more, so the schedule is as large as the estate. */
  forget(inUse: { has(key: string): boolean }): void {
    for (const key of this.entries.keys()) if (!inUse.has(key)) this.entries.delete(key);
  }

  /** Keys currently remembered (failing, whether due or not). */
  get size(): number {
    return this.entries.size;
  }
}

/** FNV-1a over the UTF-16 code units, scaled to [0, 1): stable across runs and platforms. */
function unitHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) / 2 ** 32;
}
