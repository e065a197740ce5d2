import type { CycleWatch } from "./cycles.js";
import type { FileWatch, TargetsTracker } from "./reads.js";
import type { RssSample, RssVerdict } from "./rss.js";

/** What the soak observed; `checks()` turns it into verdicts, `report()` into the printed summary. */
export interface SoakObservations {
  readonly durationS: number;
  readonly seed: number;
  readonly phases: readonly string[];
  readonly injected: Readonly<Record<string, number>>;
  readonly churn: { readonly registered: number; readonly deregistered: number };
  readonly file: FileWatch;
  readonly http: TargetsTracker;
  readonly readerHz: number;
  readonly cycles: CycleWatch;
  readonly maxGap: { readonly gapMs: number; readonly endedAtS: number };
  readonly healthz: { readonly polls: number; readonly unhealthy: number; readonly unreachableRun: number };
  readonly startedOk: boolean;
  readonly sidecarExit: string | undefined;
  /** Since the faults stopped; undefined when the file never matched the emulator's truth. */
  readonly convergedAfterMs: number | undefined;
  readonly finalDiff: { readonly missing: readonly string[]; readonly extra: readonly string[] };
  readonly unrepairedTamperS: number | undefined;
  readonly tempFiles: readonly string[];
  readonly rss: { readonly samples: readonly RssSample[]; readonly verdict: RssVerdict };
}

export interface Bounds {
  readonly maxCycleGapMs: number;
  readonly convergeWithinMs: number;
  readonly restoreWithinMs: number;
}

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function checks(o: SoakObservations, bounds: Bounds): Check[] {
  const maxRestoreMs = Math.max(0, ...o.file.restoreMs);
  return [
    {
      name: "a complete file before the faults",
      ok: o.startedOk,
      detail: o.startedOk ? "every stable target was in the file before the first fault" : "the sidecar never wrote a complete file",
    },
    {
      name: "no partial or unparseable read",
      ok: o.file.unparseable === 0 && o.http.unparseable === 0,
      detail: `file ${o.file.unparseable}, http_sd ${o.http.unparseable}${o.file.unparseableExamples.length ? `; e.g. ${o.file.unparseableExamples[0]}` : ""}`,
    },
    {
      name: "no stable target ever missing",
      ok: o.file.losses === 0 && o.http.losses === 0,
      detail: `file: ${o.file.losses} reads in ${o.file.lossEpisodes} episodes; http_sd: ${o.http.losses} reads${
        o.file.lossExamples[0] ? `; first at ${o.file.lossExamples[0].atSeconds} s missing ${o.file.lossExamples[0].missing.join(" ")}` : ""
      }`,
    },
    {
      name: "file absent only after the soak deleted it",
      ok: o.file.absentUnexpected === 0,
      detail: `${o.file.absentUnexpected} unexplained absent reads (${o.file.absentExpected} right after a deletion)`,
    },
    {
      name: "cycles keep starting",
      ok: o.maxGap.gapMs <= bounds.maxCycleGapMs && o.sidecarExit === undefined && o.healthz.unhealthy === 0 && o.healthz.unreachableRun < 5,
      detail: `max gap ${s(o.maxGap.gapMs)} (bound ${s(bounds.maxCycleGapMs)}, ended at ${o.maxGap.endedAtS} s); /healthz not ok ${o.healthz.unhealthy}/${o.healthz.polls}${
        o.sidecarExit ? `; sidecar exited: ${o.sidecarExit}` : ""
      }`,
    },
    {
      name: "tampering repaired",
      ok: maxRestoreMs <= bounds.restoreWithinMs && o.unrepairedTamperS === undefined,
      detail: `${o.file.restoreMs.length} of ${o.file.tampers.delete + o.file.tampers.garbage} repaired, slowest ${s(maxRestoreMs)} (bound ${s(bounds.restoreWithinMs)})${
        o.unrepairedTamperS === undefined ? "" : `; unrepaired since ${o.unrepairedTamperS} s`
      }`,
    },
    {
      name: "converges after the faults stop",
      ok: o.convergedAfterMs !== undefined && o.convergedAfterMs <= bounds.convergeWithinMs,
      detail:
        o.convergedAfterMs === undefined
          ? `never matched the emulator: missing ${o.finalDiff.missing.join(" ") || "-"}, extra ${o.finalDiff.extra.join(" ") || "-"}`
          : `file and http_sd matched the emulator ${s(o.convergedAfterMs)} after the faults stopped (bound ${s(bounds.convergeWithinMs)})`,
    },
    {
      name: "no temp file left",
      ok: o.tempFiles.length === 0,
      detail: o.tempFiles.length === 0 ? "none" : o.tempFiles.join(", "),
    },
    { name: "no steady RSS growth", ok: o.rss.verdict.ok, detail: o.rss.verdict.detail },
  ];
}

export function report(o: SoakObservations, results: readonly Check[]): string {
  const kib = o.rss.samples.map((x) => x.kib);
  const mib = (k: number | undefined) => (k === undefined ? "-" : `${(k / 1024).toFixed(1)} MiB`);
  const injected = Object.entries(o.injected)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
  const lines = [
    "",
    `cloudmap-sd soak: ${o.durationS} s, seed ${o.seed}`,
    `  phases          ${o.phases.join(" → ") || "-"}  (faults injected/calls received)`,
    `  faults injected ${injected || "none"}`,
    `  churn           ${o.churn.registered} registered, ${o.churn.deregistered} deregistered`,
    `  file reads      ${o.file.reads} (${o.readerHz.toFixed(1)} Hz): unparseable ${o.file.unparseable}, lossy ${o.file.losses}, absent after deletion ${o.file.absentExpected}, garbage (ours) ${o.file.garbageReads}`,
    `  http_sd reads   ${o.http.reads}: unparseable ${o.http.unparseable}, lossy ${o.http.losses}`,
    `  tampering       ${o.file.tampers.delete} deletions, ${o.file.tampers.garbage} garbage overwrites; restores seen ${o.file.restoreMs.length}, slowest ${s(Math.max(0, ...o.file.restoreMs))}`,
    `  cycles          ${o.cycles.cycles()} (${[...o.cycles.outcomes].map(([k, n]) => `${k} ${n}`).join(", ")}), longest ${s(o.cycles.maxDurationMs)}, max gap ${s(o.maxGap.gapMs)}`,
    `  RSS             first ${mib(kib[0])}, last ${mib(kib.at(-1))}, max ${mib(kib.length ? Math.max(...kib) : undefined)} (${kib.length} samples)`,
    "",
    ...results.map((c) => `  ${c.ok ? "PASS" : "FAIL"}  ${c.name}: ${c.detail}`),
  ];
  const problems = [...o.cycles.problems].sort(([, a], [, b]) => b.count - a.count);
  if (problems.length > 0) {
    lines.push("", "  sidecar warnings/errors (count: message):");
    for (const [msg, { count }] of problems.slice(0, 12)) lines.push(`    ${String(count).padStart(5)}: ${msg}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Log excerpts for a failed run: what the lead needs to find the cause. */
export function failureExcerpts(o: SoakObservations): string {
  const lines = ["", "excerpts:"];
  for (const example of o.file.lossExamples) lines.push(`  loss at ${example.atSeconds} s: missing ${example.missing.join(" ")}`);
  for (const example of [...o.file.unparseableExamples, ...o.http.unparseableExamples]) lines.push(`  unparseable read at ${example}`);
  for (const [msg, { examples }] of o.cycles.problems) {
    lines.push(`  ${msg}`);
    for (const example of examples) lines.push(`    ${example}`);
  }
  lines.push("  last sidecar lines:", ...o.cycles.lastLines(15).map((l) => `    ${l.length > 300 ? `${l.slice(0, 300)}…` : l}`));
  return `${lines.join("\n")}\n`;
}
