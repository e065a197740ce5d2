/**
 * What /healthz and /ready report. Alive: the loop runs and no cycle has been stuck for long.
 * Ready: a complete discovery has been published once.
 */
export class HealthState {
  private cycleStartedAt: number | undefined;
  private stopped = false;
  ready = false;

  constructor(
    private readonly stuckAfterMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  cycleStarted(): void {
    this.cycleStartedAt = this.now();
  }

  cycleEnded(): void {
    this.cycleStartedAt = undefined;
  }

  loopStopped(): void {
    this.stopped = true;
  }

  alive(): boolean {
    if (this.stopped) return false;
    return this.cycleStartedAt === undefined || this.now() - this.cycleStartedAt < this.stuckAfterMs;
  }
}
