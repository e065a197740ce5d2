/**
 * `npm run bench`: cloudmap-sd and the naive baseline against the emulator, each in a child process.
 *   --quick   100 instances only, 1 ms latency (a smoke run: does it all still work?)
 *   --write   also record the run in BENCHMARKS.md
 *   --profile write a V8 CPU profile of every measured cycle to ./.tmp-bench-profiles (git-ignored)
 *   --verbose the children log warnings (pino JSON on stdout)
 *   --only=N  only the estate of N instances (100, 1000, 10000 or 50000; 50,000 runs cloudmap-sd alone)
 *   --sd-only cloudmap-sd alone (no naive baseline, so no file comparison): for quick experiments
 * BENCH_NODE_FLAGS="--a --b" replaces the Dockerfile's node flags (experiments with V8 flags; the
 * report then says which flags ran). Other environment variables reach the children as they are:
 * BENCH_MEMORY_TRACE=1 (where each cycle's peak RSS goes; =2: every 10 ms sample too), BENCH_ALLOC_PROFILE=1 with --profile
 * (allocation profiles), BENCH_HEAP_SNAPSHOT=file (what cloudmap-sd keeps, after the loop).
 */
import { type ChildProcess, fork } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { type Emulator, startEmulator } from "../dev/emulator/index.js";
import { benchChildEnv } from "./child-env.js";
import { imageRuntimeFrom } from "./image-runtime.js";
import { ESTATES, type Estate, EstateMutator, instancesOf, seededRandom, topologyOf } from "./estates.js";
import type { Command, CycleMeasurement, Reply, Strategy } from "./protocol.js";
import {
  type Calls,
  detailLines,
  growthLines,
  type EstateResult,
  median,
  replaceBlock,
  resultsTable,
  type StrategyResult,
  total,
  verdictLines,
  verdicts,
} from "./report.js";

const here = dirname(fileURLToPath(import.meta.url));
const args = new Set(process.argv.slice(2));
const QUICK = args.has("--quick");
const LATENCY_MS = QUICK ? 1 : 10;
const STEADY_CYCLES = 15;
/**
 * Steady cycles run and reported apart before the measured ones: a sidecar runs thousands of
 * cycles, and the first few thousand calls after start pay V8's JIT warm-up (optimising compiles
 * on background threads, which process.cpuUsage() counts): at 10,000 instances the first steady
 * cycles cost up to twice what later ones do.
 */
const WARMUP_CYCLES = QUICK ? 2 : 10;
const CHANGE_SAMPLES = 3;
const LOOP_INTERVAL_MS = 1000;
const CHURN = 0.01;
/**
 * 1 % churn rounds, each measured as one cycle: the verdict takes their median. One sample of a
 * ~0.9 s cycle on a shared 2-core machine varied by 10 %+ between runs of the same code.
 */
const CHURN_ROUNDS = QUICK ? 1 : 3;
/** Steady cycles at the deployed pace: the sidecar's clock steps one default interval (30 s) before each. */
const PACED_CYCLES = QUICK ? 3 : 10;
const DEFAULT_INTERVAL_MS = 30_000;
const VERBOSE = args.has("--verbose");
const SD_ONLY = args.has("--sd-only");
const NODE_FLAGS_OVERRIDE = process.env.BENCH_NODE_FLAGS?.split(/\s+/).filter(Boolean);
const PROFILE_DIR = args.has("--profile") ? join(process.cwd(), ".tmp-bench-profiles") : undefined;

/** One measured child process, answering one command at a time. */
class Child {
  private waiting: { resolve: (reply: Reply) => void; reject: (error: Error) => void } | undefined;

  private constructor(
    private readonly process: ChildProcess,
    readonly filePath: string,
  ) {
    process.on("message", (reply: Reply) => {
      if (reply.type === "error" && !this.waiting) {
        console.error(`worker error: ${reply.message}`);
        return;
      }
      const waiting = this.waiting;
      this.waiting = undefined;
      if (reply.type === "error") waiting?.reject(new Error(`worker: ${reply.message}`));
      else waiting?.resolve(reply);
    });
    process.on("exit", (code) => this.waiting?.reject(new Error(`worker exited with code ${code}`)));
  }

  static async start(strategy: Strategy, dir: string, endpoint: string): Promise<Child> {
    await mkdir(dir, { recursive: true });
    const env = benchChildEnv(endpoint, dir);
    if (VERBOSE) env.BENCH_LOG_LEVEL = "warn";
    if (PROFILE_DIR) env.BENCH_PROFILE_DIR = PROFILE_DIR;
    // The image's node flags and environment, read from the Dockerfile, so the bench measures the
    // process as the image runs it (CONFIG_FILE_DIR and LISTEN_ADDRESS are the worker's own).
    const image = imageRuntimeFrom(join(here, "../../Dockerfile"));
    for (const [name, value] of Object.entries(image.env)) if (name !== "CONFIG_FILE_DIR" && name !== "LISTEN_ADDRESS") env[name] = value;
    const execArgv = ["--expose-gc", ...(NODE_FLAGS_OVERRIDE ?? image.nodeFlags)];
    const child = fork(join(here, "worker.js"), [strategy, dir], { env, execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const ready = await new Promise<Reply>((resolve, reject) => {
      child.once("message", resolve);
      child.once("exit", (code) => reject(new Error(`${strategy} worker exited with code ${code}`)));
    });
    if (ready.type !== "ready") throw new Error(`${strategy} worker failed to start: ${ready.type === "error" ? ready.message : ready.type}`);
    return new Child(child, ready.filePath);
  }

  request<T extends Reply["type"]>(command: Command, expect: T): Promise<Extract<Reply, { type: T }>> {
    if (this.waiting) throw new Error("one command at a time");
    return new Promise((resolve, reject) => {
      this.waiting = {
        resolve: (reply) =>
          reply.type === expect ? resolve(reply as Extract<Reply, { type: T }>) : reject(new Error(`expected ${expect}, got ${reply.type}`)),
        reject,
      };
      this.process.send(command);
    });
  }

  async exit(): Promise<void> {
    const exited = new Promise((resolve) => this.process.once("exit", resolve));
    this.process.send({ type: "exit" } satisfies Command);
    await exited;
  }
}

/** Cycles whose outcome was not "success": their figures are suspect, so the run says so. */
const failedCycles: string[] = [];

/** One cycle in the child, with the emulator's count of the requests it received meanwhile. */
async function cycle(child: Child, emulator: Emulator, label: string, advanceMs?: number): Promise<CycleMeasurement & { calls: Calls }> {
  emulator.calls.reset();
  const measurement = await child.request(advanceMs ? { type: "cycle", advanceMs } : { type: "cycle" }, "cycle");
  const calls = emulator.calls.snapshot();
  if (measurement.outcome !== "success") {
    failedCycles.push(`${label}: outcome ${measurement.outcome} (${JSON.stringify(calls)}); rerun with --verbose to see the failed calls`);
    process.stderr.write(`WARNING ${failedCycles.at(-1)}\n`);
  }
  return { ...measurement, calls };
}

async function sameFiles(a: string, b: string): Promise<{ same: boolean; sha256: string }> {
  const [left, right] = await Promise.all([readFile(a), readFile(b)]);
  return { same: left.equals(right), sha256: createHash("sha256").update(left).digest("hex") };
}

/** Polls the file (as Prometheus' watcher would see it) until it contains the instance id. */
async function waitForInstance(path: string, instanceId: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let seen = -1;
  const needle = `"${instanceId}"`;
  while (performance.now() < deadline) {
    const { mtimeMs } = await stat(path);
    if (mtimeMs !== seen) {
      seen = mtimeMs;
      if ((await readFile(path, "utf8")).includes(needle)) return;
    }
    await sleep(5);
  }
  throw new Error(`instance ${instanceId} did not reach ${path} within ${timeoutMs} ms`);
}

async function benchEstate(estate: Estate): Promise<EstateResult> {
  const topology = topologyOf(estate);
  const emulator = await startEmulator({ topology, port: 0, latencyMs: LATENCY_MS });
  const random = seededRandom(20_240_601);
  const mutator = new EstateMutator(emulator.state, random);
  const dir = await mkdtemp(join(tmpdir(), "cloudmap-sd-bench-"));
  const log = (message: string) => process.stderr.write(`[${estate.name}] ${message}\n`);
  try {
    // The naive baseline reads the unchanged estate first, so that cloudmap-sd's cycles, churn
    // included, follow each other without its ~30 s (at 10,000) in between: otherwise which of the
    // sidecar's health re-reads (due 30-60 s after its cold sync) fell into the churn cycle depended
    // on how fast naive ran, and --sd-only measured a different churn cycle.
    const naive = estate.compare && !SD_ONLY ? await Child.start("naive", join(dir, "naive"), emulator.url) : undefined;
    const naiveCold = naive && (await cycle(naive, emulator, `${estate.name} naive cold sync`));
    if (naiveCold) log(`naive cold sync ${Math.round(naiveCold.wallMs)} ms, peak RSS ${Math.round(naiveCold.maxRssMb)} MB`);
    const naiveSteady = naive && (await cycle(naive, emulator, `${estate.name} naive steady cycle`));

    const sd = await Child.start("cloudmap-sd", join(dir, "cloudmap-sd"), emulator.url);
    const sdCold = await cycle(sd, emulator, `${estate.name} cloudmap-sd cold sync`);
    log(`cloudmap-sd cold sync ${Math.round(sdCold.wallMs)} ms, ${sdCold.targets} targets, peak RSS ${Math.round(sdCold.maxRssMb)} MB`);
    const sdWarmup = [];
    for (let i = 0; i < WARMUP_CYCLES; i++) sdWarmup.push(await cycle(sd, emulator, `${estate.name} cloudmap-sd warm-up cycle ${i + 1}`));
    log(`cloudmap-sd first steady cycles (JIT warm-up) ${sdWarmup.map((m) => Math.round(m.wallMs)).join(", ")} ms, CPU ${sdWarmup.map((m) => Math.round(m.cpuMs)).join(", ")} ms`);
    const sdSteady = [];
    for (let i = 0; i < STEADY_CYCLES; i++) sdSteady.push(await cycle(sd, emulator, `${estate.name} cloudmap-sd steady cycle ${i + 1}`));
    const steadyRss = Math.round(sdSteady.at(-1)?.maxRssMb ?? 0);
    log(`cloudmap-sd steady cycles ${sdSteady.map((m) => Math.round(m.wallMs)).join(", ")} ms, CPU ${sdSteady.map((m) => Math.round(m.cpuMs)).join(", ")} ms, peak RSS ${steadyRss} MB`);
    const before = naive && (await sameFiles(sd.filePath, naive.filePath));

    // Each round replaces another 1 %; naive reads the estate once, after the last, and the files
    // are compared then (both read everything that changed across the rounds).
    const churn = mutator.churn(CHURN);
    const sdChurns = [await cycle(sd, emulator, `${estate.name} cloudmap-sd churn cycle 1`)];
    for (let i = 1; i < CHURN_ROUNDS; i++) {
      mutator.churn(CHURN);
      sdChurns.push(await cycle(sd, emulator, `${estate.name} cloudmap-sd churn cycle ${i + 1}`));
    }
    const sdChurn = sdChurns[0] as (typeof sdChurns)[number];
    const naiveChurn = naive && (await cycle(naive, emulator, `${estate.name} naive churn cycle`));
    const after = naive && (await sameFiles(sd.filePath, naive.filePath));
    log(
      `churn: cloudmap-sd ${sdChurns.map((m) => Math.round(m.wallMs)).join(", ")} ms` +
        (naiveChurn ? `, naive ${Math.round(naiveChurn.wallMs)} ms; files identical: ${before?.same} / ${after?.same}` : ""),
    );
    await naive?.exit();

    // Steady cycles at the deployed pace: with 30 s between them, health re-reads (every 60 s per
    // service, spread) and tag refreshes (300 s, spread) fall due as they do in a deployment.
    const sdPaced = [];
    for (let i = 0; i < PACED_CYCLES; i++) sdPaced.push(await cycle(sd, emulator, `${estate.name} cloudmap-sd paced cycle ${i + 1}`, DEFAULT_INTERVAL_MS));
    log(`cloudmap-sd paced steady cycles ${sdPaced.map((m) => Math.round(m.wallMs)).join(", ")} ms, CPU ${sdPaced.map((m) => Math.round(m.cpuMs)).join(", ")} ms, calls ${sdPaced.map((m) => total(m.calls)).join(", ")}`);

    // Change → file: the sidecar's real loop at a 1 s interval; each sample is one change at a random moment.
    await sd.request({ type: "loop-start", intervalMs: LOOP_INTERVAL_MS }, "loop-started");
    const changeToFileMs: number[] = [];
    for (let i = 0; i < CHANGE_SAMPLES; i++) {
      await sleep(200 + random() * LOOP_INTERVAL_MS);
      const id = mutator.addInstance();
      const changed = performance.now();
      await waitForInstance(sd.filePath, id, 30_000);
      changeToFileMs.push(performance.now() - changed);
    }
    const stopped = await sd.request({ type: "loop-stop" }, "loop-stopped");
    log(`change → file ${changeToFileMs.map(Math.round).join(", ")} ms (${stopped.cycles} loop cycles); peak RSS ${Math.round(stopped.maxRssMb)} MB, heap kept ${Math.round(stopped.retainedHeapMb)} MB`);
    await sd.exit();

    const steadyCpu = sdSteady.map((m) => m.cpuMs);
    const sdResult: StrategyResult = {
      strategy: "cloudmap-sd",
      coldMs: sdCold.wallMs,
      coldCalls: sdCold.calls,
      steadyMs: median(sdSteady.map((m) => m.wallMs)),
      steadyCpuMs: median(steadyCpu),
      warmupCpuMs: sdWarmup.map((m) => m.cpuMs),
      steadyCalls: sdSteady.at(-1)?.calls ?? {},
      steadyTotals: sdSteady.map((m) => total(m.calls)),
      churnMs: median(sdChurns.map((m) => m.wallMs)),
      churnSamplesMs: sdChurns.map((m) => m.wallMs),
      churnCalls: sdChurn.calls,
      pacedMs: median(sdPaced.map((m) => m.wallMs)),
      pacedCpuMs: median(sdPaced.map((m) => m.cpuMs)),
      pacedCalls: sdPaced.map((m) => m.calls),
      changeToFileMs,
      peakRssMb: Math.max(stopped.maxRssMb, ...sdChurns.map((m) => m.maxRssMb)),
      coldRssMb: sdCold.maxRssMb,
      // After the last round, as naive's (which reads the estate once, after it).
      fileBytes: (sdChurns.at(-1) ?? sdChurn).fileBytes,
      targets: (sdChurns.at(-1) ?? sdChurn).targets,
    };
    const naiveResult: StrategyResult | undefined = naiveCold && naiveSteady && naiveChurn && {
      strategy: "naive",
      coldMs: naiveCold.wallMs,
      coldCalls: naiveCold.calls,
      steadyMs: naiveSteady.wallMs,
      steadyCpuMs: naiveSteady.cpuMs,
      steadyCalls: naiveSteady.calls,
      steadyTotals: [total(naiveSteady.calls)],
      churnMs: naiveChurn.wallMs,
      churnCalls: naiveChurn.calls,
      peakRssMb: naiveChurn.maxRssMb,
      coldRssMb: naiveCold.maxRssMb,
      fileBytes: naiveChurn.fileBytes,
      targets: naiveChurn.targets,
    };
    return {
      estate: estate.name,
      instances: instancesOf(estate),
      services: estate.namespaces * estate.servicesPerNamespace,
      namespaces: estate.namespaces,
      churn,
      ...(before && after ? { identical: { steady: before.same, churn: after.same, sha256: after.sha256 } } : {}),
      results: naiveResult ? [sdResult, naiveResult] : [sdResult],
    };
  } finally {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const only = process.argv.find((arg) => arg.startsWith("--only="))?.slice("--only=".length);
  const estates = QUICK ? ESTATES.slice(0, 1) : ESTATES.filter((estate) => only === undefined || String(instancesOf(estate)) === only);
  const results: EstateResult[] = [];
  for (const estate of estates) results.push(await benchEstate(estate));
  const seconds = (performance.now() - started) / 1000;

  const cpu = cpus();
  const command = QUICK ? "npm run bench -- --quick" : "npm run bench";
  const largest = results.find((r) => r.instances === 10_000) ?? (results.at(-1) as EstateResult);
  const header = [
    `Run ${new Date().toISOString().slice(0, 10)} · ${cpu[0]?.model.trim() ?? "unknown CPU"} · ${cpu.length} cores · Node ${process.version} · \`${command}\` · ${LATENCY_MS} ms emulated latency per call · measuring took ${seconds.toFixed(0)} s (after the build)`,
  ].join("\n");
  const output = [
    header,
    "",
    resultsTable(results),
    "",
    ...(results.length > 1 ? ["Growth (cloudmap-sd):", "", growthLines(results), ""] : []),
    "Calls by operation (counted by the emulator):",
    "",
    detailLines(results),
    "",
    `Targets, judged on the ${largest.estate}-instance estate:`,
    "",
    verdictLines(verdicts(largest)),
    ...(failedCycles.length > 0 ? ["", "**Cycles that did not succeed (their figures are suspect):**", "", ...failedCycles.map((line) => `- ${line}`)] : []),
  ].join("\n");
  process.stdout.write(`${output}\n`);

  if (args.has("--write") && (QUICK || only !== undefined)) {
    process.stderr.write("not recording: BENCHMARKS.md records full runs only (drop --quick / --only)\n");
  } else if (args.has("--write")) {
    const path = join(process.cwd(), "BENCHMARKS.md");
    const document = await readFile(path, "utf8").catch(() => "# Benchmarks\n");
    await writeFile(path, replaceBlock(document, output));
    process.stderr.write(`recorded in ${path}\n`);
  }
  const mismatch = results.some((r) => r.identical !== undefined && (!r.identical.steady || !r.identical.churn));
  if (mismatch) {
    process.stderr.write("FAIL: the cloudmap-sd file differs from the naive baseline's\n");
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
