/** Formats bench results: the markdown table, call breakdowns, target verdicts, BENCHMARKS.md block. */

export type Calls = Readonly<Record<string, number>>;

export interface StrategyResult {
  readonly strategy: string;
  readonly coldMs: number;
  readonly coldCalls: Calls;
  /** Medians over the steady cycles (no change in the estate). */
  readonly steadyMs: number;
  readonly steadyCpuMs: number;
  /** CPU of each steady cycle run before the measured ones (JIT warm-up), when there were any. */
  readonly warmupCpuMs?: readonly number[];
  readonly steadyCalls: Calls;
  /** Totals of every steady cycle, to show they do not vary. */
  readonly steadyTotals: readonly number[];
  /** The median over the churn rounds (one round each replacing 1 %), and every round's figure. */
  readonly churnMs: number;
  readonly churnSamplesMs?: readonly number[];
  /** The calls of the first churn round. */
  readonly churnCalls: Calls;
  /**
   * Steady cycles with the sidecar's clock stepped 30 s before each, so health re-reads and tag
   * refreshes fall due as deployed (medians, and each cycle's calls); undefined when not measured.
   */
  readonly pacedMs?: number;
  readonly pacedCpuMs?: number;
  readonly pacedCalls?: readonly Calls[];
  /** Change in Cloud Map → file on disk, one sample per change; undefined when not measured. */
  readonly changeToFileMs?: readonly number[];
  readonly peakRssMb: number;
  /** Peak RSS right after the cold sync, comparable between strategies (they run different numbers of cycles). */
  readonly coldRssMb: number;
  readonly fileBytes: number;
  readonly targets: number;
}

export interface EstateResult {
  readonly estate: string;
  readonly instances: number;
  readonly services: number;
  readonly namespaces: number;
  readonly churn: { readonly replaced: number; readonly services: number };
  /** Absent when the naive baseline was not run for this estate. */
  readonly identical?: { readonly steady: boolean; readonly churn: boolean; readonly sha256: string };
  readonly results: readonly StrategyResult[];
}

export function total(calls: Calls): number {
  return Object.values(calls).reduce((sum, n) => sum + n, 0);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const one = (n: number) => n.toFixed(1);
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(a / b >= 10 ? 0 : 1)}×` : "—");

const COLUMNS = [
  "estate",
  "strategy",
  "cold sync ms",
  "steady cycle ms",
  "calls / steady cycle",
  "calls after 1 % churn",
  "1 % churn cycle ms",
  "change → file ms",
  "peak RSS MB",
  "CPU ms / steady cycle",
  "file KB",
];

function row(cells: readonly string[]): string {
  return `| ${cells.join(" | ")} |`;
}

export function resultsTable(estates: readonly EstateResult[]): string {
  const lines = [row(COLUMNS), row(COLUMNS.map((_, i) => (i < 2 ? "---" : "---:")))];
  for (const estate of estates) {
    for (const r of estate.results) {
      lines.push(
        row([
          estate.estate,
          r.strategy,
          int(r.coldMs),
          int(r.steadyMs),
          int(total(r.steadyCalls)),
          int(total(r.churnCalls)),
          int(r.churnMs),
          r.changeToFileMs ? int(median(r.changeToFileMs)) : "—",
          one(r.peakRssMb),
          one(r.steadyCpuMs),
          int(r.fileBytes / 1024),
        ]),
      );
    }
    const [sd, naive] = [estate.results.find((r) => r.strategy === "cloudmap-sd"), estate.results.find((r) => r.strategy === "naive")];
    if (sd && naive) {
      lines.push(
        row([
          estate.estate,
          "*naive / cloudmap-sd*",
          ratio(naive.coldMs, sd.coldMs),
          ratio(naive.steadyMs, sd.steadyMs),
          ratio(total(naive.steadyCalls), total(sd.steadyCalls)),
          ratio(total(naive.churnCalls), total(sd.churnCalls)),
          ratio(naive.churnMs, sd.churnMs),
          "—",
          ratio(naive.peakRssMb, sd.peakRssMb),
          ratio(naive.steadyCpuMs, sd.steadyCpuMs),
          ratio(naive.fileBytes, sd.fileBytes),
        ]),
      );
    }
  }
  return lines.join("\n");
}

function plural(n: number, noun: string): string {
  return `${int(n)} ${noun}${n === 1 ? "" : "s"}`;
}

function breakdown(calls: Calls): string {
  const entries = Object.entries(calls).filter(([, n]) => n > 0);
  return entries.length === 0 ? "none" : entries.map(([operation, n]) => `${operation} ${int(n)}`).join(" · ");
}

export function detailLines(estates: readonly EstateResult[]): string {
  const lines: string[] = [];
  for (const estate of estates) {
    lines.push(
      `- **${estate.estate} instances** (${plural(estate.namespaces, "namespace")}, ${plural(estate.services, "service")}, ${plural(estate.instances, "ECS task")}; churn replaced ${plural(estate.churn.replaced, "instance")} in ${plural(estate.churn.services, "service")}, first round). ` +
        (estate.identical
          ? `Files identical: steady ${estate.identical.steady ? "yes" : "**NO**"}, after churn ${estate.identical.churn ? "yes" : "**NO**"} (sha256 ${estate.identical.sha256.slice(0, 12)}…).`
          : "Naive baseline not run at this size (~80 s per cycle); file equality is shown on the smaller estates."),
    );
    for (const r of estate.results) {
      const spread = Math.min(...r.steadyTotals) === Math.max(...r.steadyTotals) ? "" : ` (steady totals ${r.steadyTotals.join(", ")})`;
      lines.push(`  - ${r.strategy}, ${int(r.targets)} targets, peak RSS after cold sync ${one(r.coldRssMb)} MB — cold: ${breakdown(r.coldCalls)}`);
      lines.push(`    steady: ${breakdown(r.steadyCalls)}${spread}; churn: ${breakdown(r.churnCalls)}`);
      if (r.warmupCpuMs && r.warmupCpuMs.length > 0) {
        lines.push(`    first ${r.warmupCpuMs.length} steady cycles, before the measured ones (JIT warm-up), CPU ms: ${r.warmupCpuMs.map(int).join(", ")}`);
      }
      if (r.pacedCpuMs !== undefined && r.pacedCalls) {
        lines.push(
          `    steady at the deployed pace (clock stepped 30 s per cycle: health re-reads and tag refreshes fall due): median ${int(r.pacedMs ?? 0)} ms, CPU ${int(r.pacedCpuMs)} ms; calls per cycle ${r.pacedCalls.map(total).join(", ")}; last: ${breakdown(r.pacedCalls.at(-1) ?? {})}`,
        );
      }
      if (r.churnSamplesMs && r.churnSamplesMs.length > 1) lines.push(`    1 % churn rounds, one cycle each, ms: ${r.churnSamplesMs.map(int).join(", ")} (the table shows their median)`);
      if (r.changeToFileMs) lines.push(`    change → file samples ms: ${r.changeToFileMs.map(int).join(", ")}`);
    }
  }
  return lines.join("\n");
}

export interface Verdict {
  readonly target: string;
  readonly met: boolean;
  readonly figure: string;
}

/** Issue 9's targets, judged on the 10,000-instance estate (or the largest one run). */
export function verdicts(estate: EstateResult): Verdict[] {
  const sd = estate.results.find((r) => r.strategy === "cloudmap-sd");
  if (!sd) return [];
  const steady = total(sd.steadyCalls);
  const perNamespace = (steady - estate.services) / estate.namespaces;
  const identical = estate.identical;
  return [
    {
      target: "steady cycle ≤ one AWS call per service + a handful (≤ 5) per namespace",
      met: steady <= estate.services + 5 * estate.namespaces,
      figure: `${int(steady)} calls = ${estate.services} services + ${one(perNamespace)} per namespace`,
    },
    { target: "cold sync ≤ 2.5 s", met: sd.coldMs <= 2500, figure: `${int(sd.coldMs)} ms` },
    { target: "cycle after 1 % spread churn ≤ 0.8 s", met: sd.churnMs <= 800, figure: `${int(sd.churnMs)} ms, ${int(total(sd.churnCalls))} calls` },
    { target: "peak RSS ≤ 120 MB", met: sd.peakRssMb <= 120, figure: `${one(sd.peakRssMb)} MB` },
    { target: "CPU per steady cycle ≤ 250 ms", met: sd.steadyCpuMs <= 250, figure: `${one(sd.steadyCpuMs)} ms (median)` },
    {
      target: "file identical to the naive baseline's",
      met: identical !== undefined && identical.steady && identical.churn,
      figure: identical
        ? `${int(sd.fileBytes / 1024)} KB, ${int(sd.targets)} targets, byte-equal ${identical.steady && identical.churn ? "before and after churn" : "NOT"}`
        : "not compared at this size",
    },
  ];
}

/** How cost grows with the estate: per 1,000 instances added between consecutive estates. */
export function growthLines(estates: readonly EstateResult[]): string {
  const lines = [
    row(["from → to", "peak RSS MB / 1,000 instances", "cold sync ms / 1,000", "steady CPU ms / 1,000", "steady cycle ms / 1,000"]),
    row(["---", "---:", "---:", "---:", "---:"]),
  ];
  for (let i = 1; i < estates.length; i++) {
    const [a, b] = [estates[i - 1], estates[i]] as [EstateResult, EstateResult];
    const [x, y] = [a.results.find((r) => r.strategy === "cloudmap-sd"), b.results.find((r) => r.strategy === "cloudmap-sd")];
    if (!x || !y) continue;
    const per = (delta: number) => one((delta * 1000) / (b.instances - a.instances));
    lines.push(row([`${a.estate} → ${b.estate}`, per(y.peakRssMb - x.peakRssMb), per(y.coldMs - x.coldMs), per(y.steadyCpuMs - x.steadyCpuMs), per(y.steadyMs - x.steadyMs)]));
  }
  return lines.join("\n");
}

export function verdictLines(verdicts: readonly Verdict[]): string {
  return verdicts.map((v) => `- ${v.met ? "✅ met" : "❌ not met"}: ${v.target} — ${v.figure}`).join("\n");
}

export const BLOCK_BEGIN = "<!-- bench:begin (generated by `npm run bench -- --write`; edit outside these markers) -->";
export const BLOCK_END = "<!-- bench:end -->";

/** Replaces the generated block of BENCHMARKS.md, keeping the prose around it. */
export function replaceBlock(document: string, block: string): string {
  const begin = document.indexOf(BLOCK_BEGIN);
  const end = document.indexOf(BLOCK_END);
  const generated = `${BLOCK_BEGIN}\n${block.trim()}\n${BLOCK_END}`;
  if (begin === -1 || end === -1 || end < begin) return `${document.trimEnd()}\n\n${generated}\n`;
  return document.slice(0, begin) + generated + document.slice(end + BLOCK_END.length);
}
