import { getHeapStatistics, writeHeapSnapshot } from "node:v8";
/**
 * The measured child process: one strategy, driven over IPC by bench/run.ts, so that its peak RSS
 * and CPU time are its own and not the emulator's. Usage (forked): worker.js <strategy> <dir>.
 */
import { mkdir, stat, writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { CallCounter } from "../src/aws/call.js";
import { createAwsClients } from "../src/aws/clients.js";
import { CloudMapApi } from "../src/aws/cloudmap.js";
import { EcsApi } from "../src/aws/ecs.js";
import { loadConfig } from "../src/config.js";
import { type Clock, systemClock } from "../src/clock.js";
import { createSidecar, TARGETS_FILE_NAME } from "../src/main.js";
import { PublishedFile } from "../src/output/published-file.js";
import { runRefreshLoop } from "../src/runtime/refresh-loop.js";
import { NaiveDiscovery } from "./naive.js";
import type { Command, CycleMeasurement, Reply, Strategy } from "./protocol.js";

interface Measured {
  readonly targetsFile: PublishedFile;
  /** One cycle; resolves with what the strategy reports about it. */
  runCycle(signal: AbortSignal): Promise<{ outcome: string; targets: number; apiCalls: number; file: string }>;
}

/**
 * The system clock plus an offset the bench can step: cycles run back to back, but the sidecar can
 * be made to see the time a real interval would have left between them (its health re-reads, tag
 * refreshes and caches go by this clock; timeouts use real timers).
 */
class SteppedClock implements Clock {
  private offsetMs = 0;
  monotonicMs(): number {
    return systemClock.monotonicMs() + this.offsetMs;
  }
  wallMs(): number {
    return systemClock.wallMs() + this.offsetMs;
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
const clock = new SteppedClock();

/** The real sidecar from the same composition root as src/main.ts, minus the HTTP server and the loop. */
async function cloudmapSd(env: NodeJS.ProcessEnv): Promise<Measured> {
  const { discovery, targetsFile } = await createSidecar(loadConfig(env), { clock });
  return { targetsFile, runCycle: (signal) => discovery.runCycle(signal) };
}

async function naive(env: NodeJS.ProcessEnv): Promise<Measured> {
  const config = loadConfig(env);
  const calls = new CallCounter({ record: () => {} });
  const clients = createAwsClients({
    callTimeoutMs: config.AWS_CALL_TIMEOUT * 1000,
    retryMode: config.awsRetryMode,
    endpointOverridden: config.awsEndpointOverridden,
  });
  const targetsFile = new PublishedFile(join(config.CONFIG_FILE_DIR, TARGETS_FILE_NAME));
  await targetsFile.open("[]\n");
  const strategy = new NaiveDiscovery({
    clients,
    cloudMap: new CloudMapApi(clients.serviceDiscovery, { recorder: calls, timeoutMs: 60_000 }),
    ecs: new EcsApi(clients.ecs, { recorder: calls, timeoutMs: 60_000 }),
    calls,
    namespacesParameter: config.DISCOVERY_NAMESPACES_PARAMETER_NAME,
    targetsFile,
  });
  return { targetsFile, runCycle: () => strategy.runCycle() };
}

function send(reply: Reply): void {
  process.send?.(reply);
}

const mb = (bytes: number) => Math.round((bytes / (1024 * 1024)) * 10) / 10;

/** With BENCH_PROFILE_DIR set, each measured cycle is also CPU-profiled (V8 sampling, ~5 % overhead). */
const profileDir = process.env.BENCH_PROFILE_DIR;
let session: Session | undefined;
let cycleNumber = 0;

async function measure(measured: Measured, strategy: Strategy): Promise<CycleMeasurement> {
  if (profileDir && !session) {
    session = new Session();
    session.connect();
    await session.post("Profiler.enable");
  }
  await session?.post("Profiler.start");
  // BENCH_ALLOC_PROFILE=1 (with --profile): a sampling allocation profile of every cycle, next to the CPU profiles.
  const allocations = session && process.env.BENCH_ALLOC_PROFILE ? session : undefined;
  await allocations?.post("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  const cpu = process.cpuUsage();
  const started = performance.now();
  const trace = process.env.BENCH_MEMORY_TRACE ? traceMemory() : undefined;
  const report = await measured.runCycle(new AbortController().signal);
  trace?.stop(`${strategy} cycle ${cycleNumber}`);
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  if (session && profileDir) {
    if (allocations) {
      const { profile: heapProfile } = await allocations.post("HeapProfiler.stopSampling");
      await mkdir(profileDir, { recursive: true });
      await writeFile(join(profileDir, `${strategy}-${process.pid}-cycle${cycleNumber}.heapprofile`), JSON.stringify(heapProfile));
    }
    const { profile } = await session.post("Profiler.stop");
    await mkdir(profileDir, { recursive: true });
    await writeFile(join(profileDir, `${strategy}-${process.pid}-cycle${cycleNumber}.cpuprofile`), JSON.stringify(profile));
  }
  cycleNumber++;
  return {
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    heapUsedMb: mb(process.memoryUsage().heapUsed),
    fileBytes: (await stat(measured.targetsFile.path)).size,
    targets: report.targets,
    apiCalls: report.apiCalls,
    outcome: report.outcome,
    file: report.file,
  };
}

/**
 * BENCH_MEMORY_TRACE=1: samples process.memoryUsage() every 10 ms during a cycle and prints, on
 * stderr, the sample with the highest RSS: where the peak goes (V8 heap, external, the rest).
 * BENCH_MEMORY_TRACE=2 also prints every sample ("ms:rss/heapUsed/heapTotal/external", MB): when
 * in the cycle the peak builds up. Gaps between samples are the event loop being busy.
 */
function traceMemory(): { stop(label: string): void } {
  let peak = process.memoryUsage();
  const started = performance.now();
  const series: string[] = [];
  const timer = setInterval(() => {
    const now = process.memoryUsage();
    if (process.env.BENCH_MEMORY_TRACE === "2") series.push(`${Math.round(performance.now() - started)}:${mb(now.rss)}/${mb(now.heapUsed)}/${mb(now.heapTotal)}/${mb(now.external)}`);
    if (now.rss > peak.rss) peak = now;
  }, 10);
  return {
    stop(label) {
      clearInterval(timer);
      if (series.length) process.stderr.write(`[series] ${label} ${series.join(" ")}\n`);
      const heap = getHeapStatistics();
      process.stderr.write(
        `[memory] ${label}: peak sample rss ${mb(peak.rss)} MB = heapTotal ${mb(peak.heapTotal)} (used ${mb(peak.heapUsed)}) + external ${mb(peak.external)} (arrayBuffers ${mb(peak.arrayBuffers)}) + other ${mb(peak.rss - peak.heapTotal - peak.external)}; now heap limit ${mb(heap.heap_size_limit)} MB, malloced ${mb(heap.malloced_memory)} MB (peak ${mb(heap.peak_malloced_memory)})\n`,
      );
    },
  };
}

async function main(): Promise<void> {
  const [strategy, dir] = process.argv.slice(2) as [Strategy, string];
  const env = { ...process.env, CONFIG_FILE_DIR: dir, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "silent" };
  const measured = strategy === "naive" ? await naive(env) : await cloudmapSd(env);
  let loop: { controller: AbortController; done: Promise<void>; cycles: number; trace?: { stop(label: string): void } } | undefined;

  process.on("message", (command: Command) => {
    const handle = async (): Promise<Reply | undefined> => {
      switch (command.type) {
        case "cycle":
          if (command.advanceMs) clock.advance(command.advanceMs);
          return { type: "cycle", ...(await measure(measured, strategy)) };
        case "loop-start": {
          // The sidecar's own loop (immediate first cycle, no overlap), as src/main.ts runs it.
          const controller = new AbortController();
          // BENCH_MEMORY_TRACE: the loop phase's peak sample too (its cycles are not measured one by one).
          const state = { controller, cycles: 0, done: Promise.resolve(), ...(process.env.BENCH_MEMORY_TRACE ? { trace: traceMemory() } : {}) };
          state.done = runRefreshLoop({
            intervalMs: command.intervalMs,
            signal: controller.signal,
            run: async (signal) => {
              await measured.runCycle(signal);
              state.cycles++;
            },
            onError: (error) => send({ type: "error", message: String(error) }),
          });
          loop = state;
          return { type: "loop-started" };
        }
        case "loop-stop": {
          loop?.controller.abort();
          await loop?.done;
          const cycles = loop?.cycles ?? 0;
          loop?.trace?.stop(`${strategy} loop (${cycles} cycles)`);
          loop = undefined;
          const maxRssMb = process.resourceUsage().maxRSS / 1024;
          // After the peak is read: what the sidecar keeps between cycles once garbage is collected.
          (globalThis as { gc?: () => void }).gc?.();
          // BENCH_HEAP_SNAPSHOT=file: what is kept, for DevTools' Memory tab (or a script over its JSON).
          if (process.env.BENCH_HEAP_SNAPSHOT) writeHeapSnapshot(process.env.BENCH_HEAP_SNAPSHOT);
          return { type: "loop-stopped", cycles, maxRssMb, retainedHeapMb: mb(process.memoryUsage().heapUsed) };
        }
        case "exit":
          process.exit(0);
      }
    };
    handle().then(
      (reply) => reply && send(reply),
      (error: unknown) => send({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  });
  // The orchestrator is gone (it failed or was interrupted): nothing left to measure.
  process.on("disconnect", () => process.exit(0));
  if (process.env.BENCH_MEMORY_TRACE) {
    const m = process.memoryUsage();
    process.stderr.write(`[memory] ${strategy} ready: rss ${mb(m.rss)} MB = heapTotal ${mb(m.heapTotal)} + external ${mb(m.external)} + other ${mb(m.rss - m.heapTotal - m.external)}\n`);
  }
  send({ type: "ready", filePath: measured.targetsFile.path });
}

main().catch((error: unknown) => {
  send({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
