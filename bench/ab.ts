/**
 * `npm run bench:ab -- A B [C ...]`: two or more cloudmap-sd variants against one emulated estate
 * (10,000 instances, 10 ms per call), their steady cycles interleaved, so that every variant runs
 * on the same machine at the same moment. On a shared, noisy machine two separate `npm run bench`
 * runs differ by 30-40 %; cycles taken turn about differ by what the variants differ by. Reports the
 * median CPU per steady cycle, its median ratio to the first variant's (cycle by cycle), and peak RSS.
 *
 * A variant is `name|environment|node flags|dist folder`, each part optional but the name:
 *   "image||"                                   the sidecar as the Dockerfile runs it
 *   "semi4||--max-semi-space-size=4"            a flag added, or replacing the image's of that name
 *   "maglev||!--no-maglev"                      one of the image's flags dropped
 *   "env|LOG_LEVEL=info,FOO=1|"                 environment variables (comma-separated)
 *   "old|||/tmp/old/dist"                       another build (its dist/bench/worker.js)
 * The children run on the Node that runs this (`npx -p node@24 node dist/bench/ab.js ...` for 24).
 * AB_PAIRS (default 30) rounds are measured after each variant's cold sync and 10 warm-up cycles.
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startEmulator } from "../dev/emulator/index.js";
import { benchChildEnv } from "./child-env.js";
import { ESTATES, instancesOf, topologyOf } from "./estates.js";
import { imageRuntimeFrom } from "./image-runtime.js";
import type { Command, CycleMeasurement, Reply } from "./protocol.js";
import { median } from "./report.js";

const here = dirname(fileURLToPath(import.meta.url));
const PAIRS = Number(process.env.AB_PAIRS ?? 30);
const WARMUP_CYCLES = 10;
const INSTANCES = 10_000;

interface Variant {
  readonly name: string;
  readonly child: ChildProcess;
  readonly dir: string;
  cycle(): Promise<CycleMeasurement>;
}

export interface VariantSpec {
  readonly name: string;
  readonly env: Record<string, string>;
  readonly flags: string[];
  readonly dist: string | undefined;
}

/** Parses `name|A=1,B=2|--flag !--dropped|dist` against the image's own node flags. */
export function parseVariant(spec: string, imageFlags: readonly string[]): VariantSpec {
  const [name = "", envText = "", flagText = "", dist = ""] = spec.split("|");
  if (name === "") throw new Error(`variant "${spec}": give it a name (name|env|flags|dist)`);
  const env: Record<string, string> = {};
  for (const pair of envText.split(",").filter(Boolean)) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new Error(`variant "${name}": environment "${pair}" is not NAME=value`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const given = flagText.split(/\s+/).filter(Boolean);
  const dropped = given.filter((flag) => flag.startsWith("!")).map((flag) => flag.slice(1));
  const added = given.filter((flag) => !flag.startsWith("!"));
  const nameOf = (flag: string) => flag.split("=")[0];
  const kept = imageFlags.filter((flag) => !dropped.includes(flag) && !added.some((other) => nameOf(other) === nameOf(flag)));
  return { name, env, flags: [...kept, ...added], dist: dist === "" ? undefined : dist };
}

async function start(spec: VariantSpec, endpoint: string): Promise<Variant> {
  const dir = await mkdtemp(join(tmpdir(), "cloudmap-sd-ab-"));
  const env = { ...benchChildEnv(endpoint, dir), ...spec.env };
  const worker = spec.dist === undefined ? join(here, "worker.js") : join(spec.dist, "bench", "worker.js");
  const child = fork(worker, ["cloudmap-sd", dir], { env, execArgv: ["--expose-gc", ...spec.flags], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  // One reply at a time; an exit fails whatever is waiting (and every later request at once).
  let waiting: { resolve: (reply: Reply) => void; reject: (error: Error) => void } | undefined;
  let exited: Error | undefined;
  child.on("message", (reply: Reply) => {
    const current = waiting;
    waiting = undefined;
    current?.resolve(reply);
  });
  child.on("exit", (code) => {
    exited = new Error(`${spec.name} exited with code ${code}`);
    waiting?.reject(exited);
    waiting = undefined;
  });
  const next = () =>
    new Promise<Reply>((resolve, reject) => {
      if (exited) reject(exited);
      else waiting = { resolve, reject };
    });
  const request = (command: Command) => {
    const reply = next();
    if (!exited) child.send(command);
    return reply;
  };
  const ready = await next();
  if (ready.type !== "ready") throw new Error(`${spec.name} failed to start: ${ready.type === "error" ? ready.message : ready.type}`);
  return {
    name: spec.name,
    child,
    dir,
    cycle: async () => {
      const reply = await request({ type: "cycle" });
      if (reply.type !== "cycle") throw new Error(`${spec.name}: expected a cycle, got ${reply.type}`);
      if (reply.outcome !== "success") throw new Error(`${spec.name}: cycle outcome ${reply.outcome}`);
      return reply;
    },
  };
}

async function main(): Promise<void> {
  const image = imageRuntimeFrom(join(here, "../../Dockerfile"));
  const specs = process.argv.slice(2).map((spec) => parseVariant(spec, image.nodeFlags));
  if (specs.length < 2) throw new Error('give at least two variants, e.g. "image||" "semi4||--max-semi-space-size=4"');
  const estate = ESTATES.find((candidate) => instancesOf(candidate) === INSTANCES);
  if (!estate) throw new Error(`no ${INSTANCES}-instance estate`);
  const emulator = await startEmulator({ topology: topologyOf(estate), port: 0, latencyMs: 10 });
  const variants: Variant[] = [];
  try {
    for (const spec of specs) {
      variants.push(await start(spec, emulator.url));
      process.stderr.write(`${spec.name}: node ${spec.flags.join(" ")}${spec.dist ? ` (${spec.dist})` : ""}\n`);
    }
    // Cold syncs one after the other (not interleaved): the first also warms the emulator up.
    const cold = new Map<string, CycleMeasurement>();
    for (const variant of variants) cold.set(variant.name, await variant.cycle());
    for (let i = 0; i < WARMUP_CYCLES; i++) for (const variant of variants) await variant.cycle();
    const cpu = new Map<string, number[]>(variants.map((variant) => [variant.name, []]));
    const rss = new Map<string, number>();
    for (let pair = 0; pair < PAIRS; pair++) {
      // Alternate who goes first, so that no variant always follows the same one.
      for (const variant of pair % 2 === 0 ? variants : [...variants].reverse()) {
        const measured = await variant.cycle();
        cpu.get(variant.name)?.push(measured.cpuMs);
        rss.set(variant.name, measured.maxRssMb);
      }
    }
    const base = cpu.get(variants[0]?.name ?? "") ?? [];
    process.stdout.write(`${new Date().toISOString().slice(0, 10)} · Node ${process.version} · ${INSTANCES} instances · ${PAIRS} interleaved rounds\n`);
    for (const variant of variants) {
      const own = cpu.get(variant.name) ?? [];
      const ratio = median(own.map((value, i) => value / (base[i] ?? value)));
      const coldSync = cold.get(variant.name);
      process.stdout.write(
        `${variant.name.padEnd(14)} CPU/steady cycle ${median(own).toFixed(0).padStart(4)} ms  ratio ${ratio.toFixed(3)}  ` +
          `cold sync (one each, in turn) ${Math.round(coldSync?.wallMs ?? 0)} ms  peak RSS ${(rss.get(variant.name) ?? 0).toFixed(1)} MB\n`,
      );
    }
  } finally {
    for (const variant of variants) {
      if (variant.child.exitCode === null && variant.child.signalCode === null) {
        const exited = new Promise((resolve) => variant.child.once("exit", resolve));
        if (variant.child.connected) variant.child.send({ type: "exit" } satisfies Command);
        else variant.child.kill();
        await exited;
      }
      await rm(variant.dir, { recursive: true, force: true });
    }
    await emulator.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
