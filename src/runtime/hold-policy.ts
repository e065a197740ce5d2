/**
 * Whether this cycle's discovery may replace the file. At start an existing file is held until a
 * complete discovery (a restart during an AWS outage must not wipe targets), but for at most
 * `maxHoldMs` after the first cycle: one part that fails for good (a service's tags or instances)
 * must not freeze every target. The limit never applies while a whole namespace is unknown
 * (`mayExpire` false): publishing then would replace the held targets of that namespace, or of the
 * whole estate when Cloud Map cannot be read at all, with nothing.
 */
export class HoldPolicy {
  private firstCycleAt: number | undefined;

  constructor(private readonly maxHoldMs: number) {}

  /** `now`: monotonic milliseconds. */
  decide(incomplete: boolean, now: number, mayExpire = true): { complete: boolean; expired: boolean } {
    this.firstCycleAt ??= now;
    const expired = incomplete && mayExpire && now - this.firstCycleAt >= this.maxHoldMs;
    return { complete: !incomplete || expired, expired };
  }
}
