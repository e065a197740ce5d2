/**
 * Follows the sidecar's JSON log lines (pino, one object per line on stdout). A "discovery cycle
 * finished" line is written once per cycle whatever its outcome, so the gaps between them bound
 * how long no cycle started.
 */
export const CYCLE_FINISHED = "discovery cycle finished";

interface LogLine {
  /** pino's number, or its label when the logger formats levels as labels (the sidecar does). */
  readonly level?: number | string;
  readonly msg?: string;
  readonly outcome?: string;
  readonly durationMs?: number;
  readonly err?: unknown;
}

export class CycleWatch {
  readonly outcomes = new Map<string, number>();
  /** warn/error lines by message, with the first few as they were logged. */
  readonly problems = new Map<string, { count: number; examples: string[] }>();
  maxDurationMs = 0;
  unparsedLines = 0;
  private readonly finishedAtMs: number[] = [];
  private readonly tail: string[] = [];

  constructor(private readonly startedAtMs: number) {}

  line(text: string, atMs: number): void {
    if (text.trim() === "") return;
    this.tail.push(text);
    if (this.tail.length > 400) this.tail.shift();
    let parsed: LogLine;
    try {
      parsed = JSON.parse(text) as LogLine;
    } catch {
      this.unparsedLines += 1;
      return;
    }
    if (parsed.msg === CYCLE_FINISHED) {
      this.finishedAtMs.push(atMs);
      const outcome = parsed.outcome ?? "unknown";
      this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
      this.maxDurationMs = Math.max(this.maxDurationMs, parsed.durationMs ?? 0);
    }
    const level = levelLabel(parsed.level);
    if (level !== undefined) {
      const key = `${level}: ${parsed.msg ?? "(no msg)"}`;
      const entry = this.problems.get(key) ?? { count: 0, examples: [] };
      entry.count += 1;
      if (entry.examples.length < 2) entry.examples.push(text.length > 400 ? `${text.slice(0, 400)}…` : text);
      this.problems.set(key, entry);
    }
  }

  cycles(): number {
    return this.finishedAtMs.length;
  }

  /** The longest stretch without a finished cycle, counting from the start and up to `nowMs`. */
  maxGapMs(nowMs: number): { gapMs: number; endedAtMs: number } {
    let previous = this.startedAtMs;
    let worst = { gapMs: 0, endedAtMs: this.startedAtMs };
    for (const at of [...this.finishedAtMs, nowMs]) {
      if (at - previous > worst.gapMs) worst = { gapMs: at - previous, endedAtMs: at };
      previous = at;
    }
    return worst;
  }

  lastLines(n: number): string[] {
    return this.tail.slice(-n);
  }
}

const PROBLEM_LEVELS: ReadonlyMap<number | string, string> = new Map<number | string, string>([
  [40, "warn"],
  [50, "error"],
  [60, "fatal"],
  ["warn", "warn"],
  ["error", "error"],
  ["fatal", "fatal"],
]);

/** "warn", "error" or "fatal" for a problem line, undefined for anything quieter. */
function levelLabel(level: number | string | undefined): string | undefined {
  return level === undefined ? undefined : PROBLEM_LEVELS.get(level);
}
