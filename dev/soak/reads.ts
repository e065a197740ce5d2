/**
 * Judging what a reader of the targets (the file, or http_sd) sees. Pure bookkeeping: the caller
 * reads and passes the content with the monotonic time the read started.
 */

/** Every byte the soak itself writes over the file starts with this, so its reads are told apart. */
export const GARBAGE_MARKER = "SOAK-GARBAGE";

export type ReadOutcome =
  | { readonly kind: "absent" }
  | { readonly kind: "garbage" }
  | { readonly kind: "unparseable"; readonly excerpt: string }
  | { readonly kind: "targets"; readonly addresses: ReadonlySet<string> };

/** file_sd/http_sd content: a JSON array of { targets: string[], labels: {…} }. */
export function classify(content: string | undefined): ReadOutcome {
  if (content === undefined) return { kind: "absent" };
  if (content.startsWith(GARBAGE_MARKER)) return { kind: "garbage" };
  const excerpt = JSON.stringify(content.length > 120 ? `${content.slice(0, 60)}…${content.slice(-60)}` : content);
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch {
    return { kind: "unparseable", excerpt };
  }
  if (!Array.isArray(value)) return { kind: "unparseable", excerpt };
  const addresses = new Set<string>();
  for (const group of value) {
    const targets = (group as { targets?: unknown })?.targets;
    const labels = (group as { labels?: unknown })?.labels;
    if (!Array.isArray(targets) || typeof labels !== "object" || labels === null) return { kind: "unparseable", excerpt };
    for (const target of targets) addresses.add(String(target));
  }
  return { kind: "targets", addresses };
}

export interface LossExample {
  readonly atSeconds: number;
  readonly missing: readonly string[];
}

/**
 * Counts reads, unparseable ones and losses: a read, after the first complete one, that misses a
 * target of a never-changed service.
 */
export class TargetsTracker {
  reads = 0;
  unparseable = 0;
  losses = 0;
  /** Runs of consecutive lossy reads (one outage seen by many reads is one episode). */
  lossEpisodes = 0;
  firstCompleteAtMs: number | undefined;
  last: { readonly addresses: ReadonlySet<string>; readonly atMs: number } | undefined;
  readonly unparseableExamples: string[] = [];
  readonly lossExamples: LossExample[] = [];
  private losing = false;

  constructor(
    private readonly stable: ReadonlySet<string>,
    private readonly originMs: number,
  ) {}

  /** Returns the outcome so the caller can add what only it knows (tampering). */
  record(content: string | undefined, atMs: number): ReadOutcome {
    this.reads += 1;
    const outcome = classify(content);
    if (outcome.kind === "unparseable") {
      this.unparseable += 1;
      if (this.unparseableExamples.length < 5) this.unparseableExamples.push(`${this.seconds(atMs)} s: ${outcome.excerpt}`);
    }
    if (outcome.kind !== "targets") return outcome;
    this.last = { addresses: outcome.addresses, atMs };
    const missing = [...this.stable].filter((t) => !outcome.addresses.has(t));
    if (this.firstCompleteAtMs === undefined) {
      if (missing.length === 0) this.firstCompleteAtMs = atMs;
      return outcome;
    }
    if (missing.length > 0) {
      this.losses += 1;
      if (!this.losing) this.lossEpisodes += 1;
      if (this.lossExamples.length < 5 && !this.losing) this.lossExamples.push({ atSeconds: this.seconds(atMs), missing });
    }
    this.losing = missing.length > 0;
    return outcome;
  }

  private seconds(atMs: number): number {
    return Math.round((atMs - this.originMs) / 100) / 10;
  }
}

export type TamperKind = "delete" | "garbage";

interface Tamper {
  readonly kind: TamperKind;
  readonly doneAtMs: number;
}

/**
 * The targets file as read by the soak: TargetsTracker plus the soak's own tampering. The file may
 * be absent only while a deletion by the soak is unrepaired; a tamper counts as repaired at the
 * first sidecar-written read that *started* after the tamper was done (a read in flight during the
 * tamper may still return the old content).
 */
export class FileWatch extends TargetsTracker {
  absentExpected = 0;
  absentUnexpected = 0;
  garbageReads = 0;
  tampers: Record<TamperKind, number> = { delete: 0, garbage: 0 };
  readonly restoreMs: number[] = [];
  private pending: Tamper | undefined;
  private tampering: TamperKind | undefined;

  tamperStarted(kind: TamperKind): void {
    this.tampering = kind;
    this.tampers[kind] += 1;
  }

  tamperDone(kind: TamperKind, atMs: number): void {
    this.tampering = undefined;
    this.pending = { kind, doneAtMs: atMs };
  }

  /** Whether the last tamper is still unrepaired, and since when. */
  unrepairedSinceMs(): number | undefined {
    return this.pending?.doneAtMs;
  }

  read(content: string | undefined, startedAtMs: number): ReadOutcome {
    const outcome = this.record(content, startedAtMs);
    const deleting = this.tampering === "delete" || this.pending?.kind === "delete";
    if (outcome.kind === "absent") {
      if (deleting) this.absentExpected += 1;
      else this.absentUnexpected += 1;
    }
    if (outcome.kind === "garbage") this.garbageReads += 1;
    if (outcome.kind === "targets" && this.pending !== undefined && startedAtMs > this.pending.doneAtMs) {
      this.restoreMs.push(startedAtMs - this.pending.doneAtMs);
      this.pending = undefined;
    }
    return outcome;
  }
}
