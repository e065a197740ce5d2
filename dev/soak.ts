#!/usr/bin/env node
/**
 * `npm run soak [-- --duration S --seed N --kinds a,b --json FILE --log FILE --env K=V --sidecar ENTRY]`: the chaos soak of issue 8
 * ("never stall, never lose a target"). The built sidecar runs as a child process against the
 * in-process emulator while the emulator injects faults in phases, instances churn, the targets
 * file is deleted and overwritten now and then, and a reader checks every read. Then the faults
 * stop and the file must converge. Exit 0 when every check passes, 1 otherwise, 2 for bad
 * arguments. Loopback only; every child is stopped on exit, failure and Ctrl-C. See RELIABILITY.md.
 */
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { type Emulator, mulberry32, startEmulator } from "./emulator/index.js";
import { freePort, type ManagedProcess, SIDECAR_ENTRY, sidecarEnv, startProcess } from "./processes.js";
import { type Bounds, checks, failureExcerpts, report, type SoakObservations } from "./soak/checks.js";
import { CycleWatch } from "./soak/cycles.js";
import {
  CHURNED,
  churnedInstanceIds,
  deregisterChurned,
  expectedTargets,
  NAMESPACES_PARAMETER,
  registerChurned,
  STABLE_TARGETS,
  soakTopology,
} from "./soak/estate.js";
import { applyPhase, parseKinds, planPhases } from "./soak/phases.js";
import { classify, FileWatch, GARBAGE_MARKER, TargetsTracker, type TamperKind } from "./soak/reads.js";
import { judgeRss, readRssKib, type RssSample } from "./soak/rss.js";

const TARGETS_FILE = "ecs-services.json";
const TEMP_FILE = /^\.ecs-services\.json\..*\.tmp$/;
const READ_PERIOD_MS = 40; // 25 Hz
const STARTUP_BOUND_MS = 60_000;

class UsageError extends Error {
  override readonly name = "UsageError";
}

function options() {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "180" },
      seed: { type: "string", default: "1" },
      kinds: { type: "string" },
      json: { type: "string" },
      sidecar: { type: "string" },
      log: { type: "string" },
      env: { type: "string", multiple: true },
      "max-cycle-gap": { type: "string", default: "30" },
      "converge-within": { type: "string", default: "20" },
      "restore-within": { type: "string", default: "30" },
    },
  });
  const number = (name: string, value: string, min: number) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name} must be a number >= ${min}, got ${value}`);
    return n;
  };
  const durationS = number("duration", values.duration, 30);
  const bounds: Bounds = {
    maxCycleGapMs: number("max-cycle-gap", values["max-cycle-gap"], 1) * 1000,
    convergeWithinMs: number("converge-within", values["converge-within"], 1) * 1000,
    restoreWithinMs: number("restore-within", values["restore-within"], 1) * 1000,
  };
  // The quiet phase must outlast the convergence bound, so a slow convergence fails as such.
  const quietMs = Math.max(bounds.convergeWithinMs + 5_000, 25_000, durationS * 200);
  return {
    durationS,
    seed: Math.trunc(number("seed", values.seed, 0)),
    kinds: parseKinds(values.kinds),
    json: values.json,
    /** Extra sidecar environment, e.g. AWS_RETRY_MODE=standard, to compare settings. */
    env: Object.fromEntries(
      (values.env ?? []).map((pair) => {
        const eq = pair.indexOf("=");
        if (eq <= 0) throw new UsageError(`--env takes KEY=VALUE, got ${pair}`);
        return [pair.slice(0, eq), pair.slice(eq + 1)];
      }),
    ),
    /** Where to save everything the sidecar wrote (its JSON log), for a closer look. */
    log: values.log,
    /** Another build's entry point (e.g. an older commit's dist/src/main.js) to compare behaviour. */
    sidecarEntry: values.sidecar ?? SIDECAR_ENTRY,
    bounds,
    faultWindowMs: Math.max(0, durationS * 1000 - quietMs),
  };
}

const now = () => performance.now();
const say = (line: string) => process.stdout.write(`${line}\n`);

/** Everything to undo on exit, newest first; runs once whatever the exit path. */
const cleanups: (() => Promise<unknown>)[] = [];
let sidecarChild: ManagedProcess | undefined;
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const undo of cleanups.reverse()) await undo().catch(() => undefined);
  })();
  return cleaning;
}
// Last resort when the process exits without the async cleanup (an uncaught throw): no orphan.
process.on("exit", () => {
  const child = sidecarChild?.child;
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    say(`\n${signal}: stopping the soak and everything it started…`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** Runs `tick` every `periodMs` (measured from each start) until `running()` is false. */
async function every(periodMs: number | (() => number), running: () => boolean, tick: () => Promise<void> | void): Promise<void> {
  while (running()) {
    const started = now();
    await tick();
    const period = typeof periodMs === "number" ? periodMs : periodMs();
    await sleep(Math.max(0, started + period - now()));
  }
}

async function readTargets(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

async function fetchText(url: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return { status: response.status, body: await response.text() };
  } catch {
    return undefined;
  }
}

function diff(actual: ReadonlySet<string> | undefined, expected: ReadonlySet<string>) {
  const have = actual ?? new Set<string>();
  return { missing: [...expected].filter((t) => !have.has(t)).sort(), extra: [...have].filter((t) => !expected.has(t)).sort() };
}

const sameSet = (a: ReadonlySet<string> | undefined, b: ReadonlySet<string>) => a !== undefined && a.size === b.size && [...b].every((t) => a.has(t));

async function soak(opts: ReturnType<typeof options>): Promise<boolean> {
  const random = mulberry32(opts.seed);
  const dir = await mkdtemp(join(tmpdir(), "cloudmap-sd-soak-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const configDir = join(dir, "config");
  await mkdir(configDir);
  const path = join(configDir, TARGETS_FILE);

  const emulator: Emulator = await startEmulator({ topology: soakTopology(), pageSize: 2, seed: opts.seed });
  cleanups.push(() => emulator.close());
  let registered = 0;
  let deregistered = 0;
  for (const churned of CHURNED) for (let i = 0; i < 2; i++) registerChurned(emulator.state, churned, registered++);

  const origin = now();
  const at = (ms: number) => Math.round((ms - origin) / 100) / 10;
  const cycles = new CycleWatch(origin);
  const port = await freePort();
  const sidecar = startProcess("cloudmap-sd", process.execPath, [opts.sidecarEntry], {
    env: sidecarEnv({
      emulatorUrl: emulator.url,
      configDir,
      listenPort: port,
      reloadSeconds: 1,
      extra: { AWS_CALL_TIMEOUT: "2", LOG_LEVEL: "info", DISCOVERY_NAMESPACES_PARAMETER_NAME: NAMESPACES_PARAMETER, ...opts.env },
    }),
    onLine: (line) => cycles.line(line, now()),
  });
  sidecarChild = sidecar;
  let stopping = false;
  cleanups.push(async () => {
    stopping = true;
    await sidecar.stop();
  });
  let sidecarExit: string | undefined;
  sidecar.child.once("exit", (code, signal) => {
    if (!stopping) sidecarExit = `code ${code} signal ${signal}`;
  });
  const sidecarUrl = `http://127.0.0.1:${port}`;
  const pid = sidecar.child.pid ?? 0;
  say(`soak: ${opts.durationS} s, seed ${opts.seed}; emulator ${emulator.url}, sidecar pid ${pid} ${sidecarUrl}, file ${path}`);

  // Startup: no fault until the sidecar has written every stable target once.
  let startedOk = false;
  while (now() - origin < STARTUP_BOUND_MS && sidecarExit === undefined) {
    const outcome = classify(await readTargets(path));
    if (outcome.kind === "targets" && [...STABLE_TARGETS].every((t) => outcome.addresses.has(t))) {
      startedOk = true;
      break;
    }
    await sleep(100);
  }
  const file = new FileWatch(STABLE_TARGETS, origin);
  const http = new TargetsTracker(STABLE_TARGETS, origin);
  const rssSamples: RssSample[] = [];
  const healthz = { polls: 0, unhealthy: 0, unreachableRun: 0, run: 0 };
  const phaseNames: string[] = [];
  let convergedAfterMs: number | undefined;
  let fileMatches = false;
  let httpMatches = false;

  const t0 = now();
  const faultsEnd = t0 + opts.faultWindowMs;
  const end = t0 + opts.durationS * 1000;
  const running = () => startedOk && sidecarExit === undefined && now() < end;
  const faulting = () => running() && now() < faultsEnd;
  const quiet = () => now() >= faultsEnd;
  if (startedOk) say(`sidecar wrote a complete file after ${at(t0)} s; faults for ${opts.faultWindowMs / 1000} s, then quiet`);
  const noteConvergence = () => {
    if (convergedAfterMs === undefined && fileMatches && httpMatches) convergedAfterMs = now() - faultsEnd;
  };

  const reader = every(READ_PERIOD_MS, running, async () => {
    const started = now();
    const outcome = file.read(await readTargets(path), started);
    if (quiet() && started > faultsEnd) {
      fileMatches = outcome.kind === "targets" && sameSet(outcome.addresses, expectedTargets(emulator.state));
      noteConvergence();
    }
  });
  const httpReader = every(1_000, running, async () => {
    const started = now();
    const answer = await fetchText(`${sidecarUrl}/prometheus-targets`);
    if (answer === undefined) return;
    const outcome = http.record(answer.body, started);
    if (quiet() && started > faultsEnd) {
      httpMatches = outcome.kind === "targets" && sameSet(outcome.addresses, expectedTargets(emulator.state));
      noteConvergence();
    }
  });
  const health = every(2_000, running, async () => {
    const answer = await fetchText(`${sidecarUrl}/healthz`);
    healthz.polls += 1;
    if (answer === undefined) healthz.unreachableRun = Math.max(healthz.unreachableRun, ++healthz.run);
    else {
      healthz.run = 0;
      if (answer.status !== 200) healthz.unhealthy += 1;
    }
  });
  const rss = every(1_000, running, async () => {
    const kib = await readRssKib(pid);
    if (kib !== undefined) rssSamples.push({ atMs: now(), kib });
  });
  const churn = every(
    () => 600 + random() * 800,
    faulting,
    () => {
      const churned = CHURNED[Math.floor(random() * CHURNED.length)] ?? CHURNED[0];
      if (churned === undefined) return;
      const ids = churnedInstanceIds(emulator.state, churned);
      if (ids.length < 2 || (ids.length < 5 && random() < 0.5)) {
        registerChurned(emulator.state, churned, registered++);
      } else {
        deregisterChurned(emulator.state, churned, ids[Math.floor(random() * ids.length)] as string);
        deregistered += 1;
      }
    },
  );
  let garbageCount = 0;
  const tamper = every(
    () => 6_000 + random() * 6_000,
    faulting,
    async () => {
      if (now() - t0 < 3_000 || file.unrepairedSinceMs() !== undefined) return;
      const kind: TamperKind = random() < 0.5 ? "delete" : "garbage";
      file.tamperStarted(kind);
      if (kind === "delete") await rm(path, { force: true });
      else {
        // Written aside and renamed over the file, so no read sees half of the garbage either.
        const aside = join(configDir, ".soak-garbage.tmp");
        await writeFile(aside, `${GARBAGE_MARKER} ${++garbageCount}\n[{"targets": ["10.0.0.1:80"`);
        await rename(aside, path);
      }
      file.tamperDone(kind, now());
    },
  );
  const phases = (async () => {
    for (const phase of planPhases(opts.faultWindowMs, opts.kinds, random)) {
      if (!running()) break;
      const before = { calls: emulator.calls.total(), injected: totalInjected(emulator) };
      applyPhase(emulator.faults, phase.kind, random);
      say(`  ${at(now()).toFixed(1).padStart(6)} s  faults: ${phase.kind}`);
      await sleep(Math.max(0, t0 + phase.endMs - now()));
      const injected = totalInjected(emulator) - before.injected;
      phaseNames.push(`${phase.kind} (${injected}/${emulator.calls.total() - before.calls})`);
    }
    emulator.faults.clear();
    if (startedOk) say(`  ${at(now()).toFixed(1).padStart(6)} s  faults stopped; waiting for convergence`);
  })();

  await Promise.all([reader, httpReader, health, rss, churn, tamper, phases]);
  const finishedAt = now();
  const expected = expectedTargets(emulator.state);
  // A write in progress has a temp file for a moment; one still there 1.5 s later (its name is
  // random per write) was left behind.
  const tempFiles = async () => (await readdir(configDir)).filter((name) => TEMP_FILE.test(name));
  const tempBefore = await tempFiles();
  await sleep(1_500);
  const tempWhileRunning = (await tempFiles()).filter((name) => tempBefore.includes(name));
  const gap = cycles.maxGapMs(sidecarExit === undefined ? finishedAt : now());
  stopping = true;
  await sidecar.stop();
  const tempAfterStop = await tempFiles();

  const unrepaired = file.unrepairedSinceMs();
  const observations: SoakObservations = {
    durationS: opts.durationS,
    seed: opts.seed,
    phases: phaseNames,
    injected: emulator.faults.injectedCounts(),
    churn: { registered, deregistered },
    file,
    http,
    readerHz: file.reads / Math.max(1, (finishedAt - t0) / 1000),
    cycles,
    maxGap: { gapMs: gap.gapMs, endedAtS: at(gap.endedAtMs) },
    healthz,
    startedOk,
    sidecarExit,
    convergedAfterMs,
    finalDiff: diff(file.last?.addresses, expected),
    unrepairedTamperS: unrepaired === undefined ? undefined : at(unrepaired),
    tempFiles: [...new Set([...tempWhileRunning, ...tempAfterStop])],
    rss: { samples: rssSamples, verdict: judgeRss(rssSamples, t0 + Math.max(10_000, opts.durationS * 150)) },
  };
  const results = checks(observations, opts.bounds);
  const ok = results.every((c) => c.ok);
  process.stdout.write(report(observations, results));
  if (!ok) process.stdout.write(failureExcerpts(observations));
  if (opts.log) await writeFile(opts.log, sidecar.output());
  if (opts.json) await writeFile(opts.json, `${JSON.stringify({ observations: summaryJson(observations), checks: results, ok }, null, 2)}\n`);
  say(ok ? "\nsoak PASSED" : `\nsoak FAILED: ${results.filter((c) => !c.ok).map((c) => c.name).join("; ")}`);
  return ok;
}

const totalInjected = (emulator: Emulator) => Object.values(emulator.faults.injectedCounts()).reduce((a, b) => a + b, 0);

/** The figures RELIABILITY.md records, without the bulky per-read state. */
function summaryJson(o: SoakObservations) {
  const kib = o.rss.samples.map((x) => x.kib);
  return {
    date: new Date().toISOString(),
    durationS: o.durationS,
    seed: o.seed,
    phases: o.phases,
    injected: o.injected,
    churn: o.churn,
    file: {
      reads: o.file.reads,
      hz: Number(o.readerHz.toFixed(1)),
      unparseable: o.file.unparseable,
      losses: o.file.losses,
      lossEpisodes: o.file.lossEpisodes,
      absentAfterDeletion: o.file.absentExpected,
      absentUnexplained: o.file.absentUnexpected,
      garbageReads: o.file.garbageReads,
      tampers: o.file.tampers,
      restores: o.file.restoreMs.length,
      slowestRestoreMs: Math.round(Math.max(0, ...o.file.restoreMs)),
    },
    http: { reads: o.http.reads, unparseable: o.http.unparseable, losses: o.http.losses },
    cycles: { count: o.cycles.cycles(), outcomes: Object.fromEntries(o.cycles.outcomes), maxDurationMs: o.cycles.maxDurationMs, maxGapMs: Math.round(o.maxGap.gapMs) },
    convergedAfterMs: o.convergedAfterMs === undefined ? null : Math.round(o.convergedAfterMs),
    rssKib: { first: kib[0] ?? null, last: kib.at(-1) ?? null, max: kib.length ? Math.max(...kib) : null },
    problems: Object.fromEntries([...o.cycles.problems].map(([msg, { count }]) => [msg, count])),
  };
}

let code = 1;
try {
  code = (await soak(options())) ? 0 : 1;
} catch (error) {
  if (error instanceof UsageError || error instanceof RangeError) {
    process.stderr.write(`${error.message}\nusage: soak [--duration S (>= 30, default 180)] [--seed N] [--kinds a,b,…] [--json FILE] [--log FILE] [--env KEY=VALUE]… [--sidecar dist/src/main.js]\n`);
    code = 2;
  } else {
    process.stderr.write(`soak crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    if (sidecarChild) process.stderr.write(`sidecar output (tail):\n${sidecarChild.output().slice(-4_000)}\n`);
  }
} finally {
  await cleanup();
}
process.exit(code);
