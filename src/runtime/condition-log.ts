/**
 * Logs a condition when it appears and when it clears, not on every cycle it lasts: an outage of
 * an hour at a 30 s interval is one warning and one recovery line, not 120 warnings. While it
 * lasts it repeats at debug level only.
 */
export class ConditionLog<T> {
  private previous = new Map<string, T>();

  constructor(
    private readonly handlers: {
      readonly appeared: (key: string, value: T) => void;
      readonly persists?: (key: string, value: T) => void;
      readonly cleared?: (key: string, value: T) => void;
    },
  ) {}

  /** The conditions that hold in this cycle, by a stable key. */
  update(current: ReadonlyMap<string, T>): void {
    for (const [key, value] of current) {
      if (this.previous.has(key)) this.handlers.persists?.(key, value);
      else this.handlers.appeared(key, value);
    }
    for (const [key, value] of this.previous) if (!current.has(key)) this.handlers.cleared?.(key, value);
    this.previous = new Map(current);
  }

  /** Keys that held in the last update. */
  keys(): string[] {
    return [...this.previous.keys()];
  }
}
