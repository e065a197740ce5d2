/**
 * Whether this cycle's discovery may replace the file. At start an existing file is held until a
 * complete discovery (a restart during an AWS outage must not wipe targets), but for at most
 * `maxHoldMs` after the first cycle: one part that fails for good must not freeze every target.
 */
export class HoldPolicy {
  private firstCycleAt: number | undefined;

  constructor(private readonly maxHoldMs: number) {}

  /** `now`: monotonic milliseconds. */
  decide(incomplete: boolean, now: number): { complete: boolean; expired: boolean } {
    this.firstCycleAt ??= now;
    const expired = incomplete && now - this.firstCycleAt >= this.maxHoldMs;
    return { complete: !incomplete || expired, expired };
  }
}
