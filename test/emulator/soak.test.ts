// The soak's judges (dev/soak/): what counts as a partial read, a loss, a repaired tamper, a
// stalled loop or a leak. The soak itself runs with `npm run soak`; these keep its verdicts honest.
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../dev/emulator/index.js";
import { CycleWatch } from "../../dev/soak/cycles.js";
import { PHASE_KINDS, parseKinds, planPhases } from "../../dev/soak/phases.js";
import { classify, FileWatch, GARBAGE_MARKER, TargetsTracker } from "../../dev/soak/reads.js";
import { judgeRss } from "../../dev/soak/rss.js";

const STABLE = new Set(["10.0.0.1:80", "10.0.0.2:80"]);
const file = (...targets: string[]) => JSON.stringify([{ targets, labels: { job: "x" } }]);

describe("classify", () => {
  it("tells absent, our garbage, unparseable and target reads apart", () => {
    expect(classify(undefined).kind).toBe("absent");
    expect(classify(`${GARBAGE_MARKER} 3\n[{"targets": [`).kind).toBe("garbage");
    expect(classify('[{"targets": ["10.0.0.1:80"]').kind).toBe("unparseable");
    expect(classify("").kind).toBe("unparseable");
    expect(classify('{"targets": []}').kind).toBe("unparseable");
    expect(classify('[{"targets": "10.0.0.1:80", "labels": {}}]').kind).toBe("unparseable");
    expect(classify(file("10.0.0.1:80", "10.0.0.9:80"))).toEqual({ kind: "targets", addresses: new Set(["10.0.0.1:80", "10.0.0.9:80"]) });
    expect(classify("[]\n")).toEqual({ kind: "targets", addresses: new Set() });
  });
});

describe("TargetsTracker", () => {
  it("counts a loss only after the first complete read, and one episode per run of lossy reads", () => {
    // Prepare
    const tracker = new TargetsTracker(STABLE, 0);
    // Act
    for (const [content, at] of [
      ["[]", 100],
      [file("10.0.0.1:80"), 200],
      [file("10.0.0.1:80", "10.0.0.2:80"), 300],
      [file("10.0.0.1:80"), 400],
      [file("10.0.0.1:80"), 500],
      [file("10.0.0.1:80", "10.0.0.2:80", "10.9.9.9:80"), 600],
      [file("10.0.0.2:80"), 700],
      ["[{", 800],
    ] as const) {
      tracker.record(content, at);
    }
    // Assess
    expect(tracker.firstCompleteAtMs).toBe(300);
    expect(tracker.losses).toBe(3);
    expect(tracker.lossEpisodes).toBe(2);
    expect(tracker.lossExamples.map((e) => e.missing)).toEqual([["10.0.0.2:80"], ["10.0.0.1:80"]]);
    expect(tracker.unparseable).toBe(1);
    expect(tracker.reads).toBe(8);
  });
});

describe("FileWatch", () => {
  it("expects absence only while a deletion of ours is unrepaired", () => {
    const watch = new FileWatch(STABLE, 0);
    watch.read(file(...STABLE), 10);
    watch.read(undefined, 20); // nobody deleted it: the sidecar's fault
    watch.tamperStarted("delete");
    watch.tamperDone("delete", 30);
    watch.read(undefined, 40);
    watch.read(file(...STABLE), 50);
    watch.read(undefined, 60); // repaired before: unexplained again
    expect([watch.absentUnexpected, watch.absentExpected]).toEqual([2, 1]);
  });

  it("counts a repair only from a read that started after the tamper was done", () => {
    const watch = new FileWatch(STABLE, 0);
    watch.tamperStarted("garbage");
    watch.tamperDone("garbage", 100);
    watch.read(file(...STABLE), 90); // in flight during the tamper: old content
    expect(watch.unrepairedSinceMs()).toBe(100);
    watch.read(`${GARBAGE_MARKER} 1`, 110);
    watch.read(file(...STABLE), 350);
    expect(watch.unrepairedSinceMs()).toBeUndefined();
    expect(watch.restoreMs).toEqual([250]);
    expect(watch.garbageReads).toBe(1);
    expect(watch.unparseable).toBe(0);
  });
});

describe("CycleWatch", () => {
  it("measures the longest stretch without a finished cycle, from the start to now", () => {
    const watch = new CycleWatch(0);
    const finished = (outcome: string) => JSON.stringify({ level: "info", msg: "discovery cycle finished", outcome, durationMs: 40 });
    watch.line(finished("success"), 1_000);
    watch.line(finished("partial"), 2_000);
    watch.line(finished("failure"), 9_000);
    expect(watch.maxGapMs(10_000)).toEqual({ gapMs: 7_000, endedAtMs: 9_000 });
    expect(watch.maxGapMs(30_000)).toEqual({ gapMs: 21_000, endedAtMs: 30_000 });
    expect(Object.fromEntries(watch.outcomes)).toEqual({ success: 1, partial: 1, failure: 1 });
  });

  it("collects warnings and errors whether pino writes levels as numbers or labels", () => {
    const watch = new CycleWatch(0);
    watch.line(JSON.stringify({ level: "warn", msg: "AWS call failed" }), 1);
    watch.line(JSON.stringify({ level: 40, msg: "AWS call failed" }), 2);
    watch.line(JSON.stringify({ level: "error", msg: "cannot write" }), 3);
    watch.line(JSON.stringify({ level: "info", msg: "fine" }), 4);
    watch.line("not json", 5);
    expect([...watch.problems].map(([key, { count }]) => [key, count])).toEqual([
      ["warn: AWS call failed", 2],
      ["error: cannot write", 1],
    ]);
    expect(watch.unparsedLines).toBe(1);
  });
});

describe("judgeRss", () => {
  const samples = (kibs: number[]) => kibs.map((kib, i) => ({ atMs: i * 1_000, kib }));
  const MiB = 1024;

  it("fails a steady climb", () => {
    const climbing = Array.from({ length: 30 }, (_, i) => (80 + i * 4) * MiB);
    expect(judgeRss(samples(climbing), 0).ok).toBe(false);
  });

  it("passes a plateau, a single step, noise, and too short a run", () => {
    const plateau = Array.from({ length: 30 }, (_, i) => (90 + (i % 3)) * MiB);
    const step = Array.from({ length: 30 }, (_, i) => (i < 5 ? 60 : 150) * MiB);
    expect(judgeRss(samples(plateau), 0).ok).toBe(true);
    expect(judgeRss(samples(step), 5_000).ok).toBe(true);
    expect(judgeRss(samples([10 * MiB, 500 * MiB]), 0)).toMatchObject({ ok: true, detail: expect.stringContaining("too few") });
  });
});

describe("fault phases", () => {
  it("fill the window with every chosen kind, in a seeded order", () => {
    const plan = planPhases(40_000, PHASE_KINDS, mulberry32(5));
    expect(plan[0]?.startMs).toBe(0);
    expect(plan.at(-1)?.endMs).toBe(40_000);
    expect(new Set(plan.map((p) => p.kind))).toEqual(new Set(PHASE_KINDS));
    expect(planPhases(40_000, PHASE_KINDS, mulberry32(5))).toEqual(plan);
  });

  it("never shorter than 3 s, never longer than 12 s", () => {
    for (const window of [10_000, 600_000]) {
      for (const phase of planPhases(window, ["hang", "reset"], mulberry32(1)).slice(0, -1)) {
        expect(phase.endMs - phase.startMs).toBeGreaterThanOrEqual(3_000);
        expect(phase.endMs - phase.startMs).toBeLessThanOrEqual(12_000);
      }
    }
  });

  it("parses --kinds and rejects an unknown kind", () => {
    expect(parseKinds(undefined)).toEqual([...PHASE_KINDS]);
    expect(parseKinds("hang, reset")).toEqual(["hang", "reset"]);
    expect(() => parseKinds("hang,explode")).toThrow(/explode/);
  });
});
