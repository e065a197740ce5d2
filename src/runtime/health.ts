/**
 * What /healthz and /ready report.
 * Alive: the loop runs and a cycle has finished (or the loop started) within `stuckAfterMs`, the
 * cycle bound plus one interval; a loop frozen on anything (a call no deadline reached, a hung
 * disk) turns it 503 so the orchestrator restarts the container.
 * Ready: a complete discovery has been published once, and the Prometheus configuration file
 * exists when cloudmap-sd is asked to publish one.
 */
export class HealthState {
  private lastProgressAt: number;
  private stopped = false;
  private targetsReady = false;
  private configReady = true;
  private configReason: string | undefined;

  /** `now`: a monotonic clock in milliseconds. */
  constructor(
    private readonly stuckAfterMs: number,
    private readonly now: () => number,
  ) {
    this.lastProgressAt = now();
  }

  /** Kept for the cycle's bookkeeping; liveness is measured from the last cycle that finished. */
  cycleStarted(): void {}

  cycleEnded(): void {
    this.lastProgressAt = this.now();
  }

  loopStarted(): void {
    this.lastProgressAt = this.now();
  }

  loopStopped(): void {
    this.stopped = true;
  }

  get ready(): boolean {
    return this.targetsReady && this.configReady;
  }

  /** Set once a complete discovery has been published; it stays set. */
  set ready(value: boolean) {
    this.targetsReady = value;
  }

  /** Whether prometheus.yaml exists (only when PROMETHEUS_CONFIG_PARAMETER_NAME is set). */
  setConfigReady(ready: boolean, reason?: string): void {
    this.configReady = ready;
    this.configReason = ready ? undefined : reason;
  }

  alive(): boolean {
    return !this.stopped && this.now() - this.lastProgressAt < this.stuckAfterMs;
  }

  /** One line each for /healthz and /ready when they are not 200. */
  describe(): { alive: boolean; ready: boolean; reason?: string } {
    const alive = this.alive();
    const ready = this.ready;
    let reason: string | undefined;
    if (this.stopped) reason = "the refresh loop has stopped";
    else if (!alive) reason = `no discovery cycle has finished for ${Math.round((this.now() - this.lastProgressAt) / 1000)} s (bound ${Math.round(this.stuckAfterMs / 1000)} s)`;
    else if (!this.targetsReady) reason = "no complete discovery yet: see the log for the AWS calls that fail";
    else if (!this.configReady) reason = this.configReason ?? "the Prometheus configuration file has not been published yet";
    return reason === undefined ? { alive, ready } : { alive, ready, reason };
  }
}
