// The built sidecar as a process: what a user (or ECS) sees when starting it.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { TEST_CREDENTIALS } from "./helpers/aws-fixtures.js";
import { tempDirs } from "./helpers/fixtures.js";

const ROOT = resolve(import.meta.dirname, "..");
const MAIN = join(ROOT, "dist/src/main.js");

/** Every setting the issues define; --help must document each one. */
const SETTINGS = [
  "DISCOVERY_NAMESPACES_PARAMETER_NAME",
  "CONFIG_FILE_DIR",
  "CONFIG_RELOAD_FREQUENCY",
  "PROMETHEUS_CONFIG_PARAMETER_NAME",
  "LISTEN_ADDRESS",
  "HEALTH_STATUS",
  "LOG_LEVEL",
  "DISCOVERY_CONCURRENCY",
  "TAG_REFRESH_INTERVAL",
  "HEALTH_REFRESH_INTERVAL",
  "ECS_ENRICHMENT",
  "ECS_DROP_STOPPED_TASKS",
];

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

interface Sidecar {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the `nth` (default first) JSON log line matching `predicate`. */
  logLine(predicate: (line: Record<string, unknown>) => boolean, nth?: number): Promise<Record<string, unknown>>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

describe("cloudmap-sd (built)", () => {
  const dirs = tempDirs("cloudmap-sd-main-");
  const started: ChildProcess[] = [];

  beforeAll(() => {
    // `npm test` builds first; this keeps `npx vitest run test/main.test.ts` honest on its own.
    if (!existsSync(MAIN) || statSync(MAIN).mtimeMs < newestMtime(join(ROOT, "src"))) {
      try {
        execFileSync("npx", ["tsc", "-p", "tsconfig.json"], { cwd: ROOT, stdio: "ignore" });
      } catch {
        // Type errors elsewhere in the project still emit JavaScript; the existence check below decides.
      }
    }
    expect(existsSync(MAIN)).toBe(true);
  });

  afterEach(async () => {
    for (const child of started.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    await dirs.cleanup();
  });

  /** Env for a sidecar that can only fail to reach AWS: loopback port 1, static fake credentials. */
  async function unreachableAwsEnv(dir: string): Promise<Record<string, string>> {
    return {
      PATH: process.env.PATH ?? "",
      AWS_REGION: "eu-west-1",
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL: "http://127.0.0.1:1",
      AWS_CONFIG_FILE: join(dir, "no-aws-config"),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, "no-aws-credentials"),
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_MAX_ATTEMPTS: "2",
      CONFIG_FILE_DIR: dir,
      CONFIG_RELOAD_FREQUENCY: "0.2",
      LISTEN_ADDRESS: "127.0.0.1:0",
      LOG_LEVEL: "debug",
    };
  }

  function run(env: Record<string, string>, args: string[] = []): Sidecar {
    const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    started.push(child);
    let stdout = "";
    let stderr = "";
    const waiters: Array<() => void> = [];
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      for (const wake of waiters.splice(0)) wake();
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
      child.on("exit", (code, signal) => {
        for (const wake of waiters.splice(0)) wake();
        resolveExit({ code, signal });
      }),
    );
    const lines = () =>
      stdout
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    return {
      child,
      stdout: () => stdout,
      stderr: () => stderr,
      exited,
      async logLine(predicate, nth = 1) {
        for (;;) {
          const found = lines().filter(predicate)[nth - 1];
          if (found) return found;
          if (child.exitCode !== null) throw new Error(`sidecar exited (${child.exitCode}) before logging it:\n${stdout}\n${stderr}`);
          await new Promise<void>((wake) => waiters.push(wake));
        }
      },
    };
  }

  /** The lines of stderr that are ours (Node's own deprecation warnings from the SDK are not). */
  function ownLines(stderr: string): string[] {
    return stderr.split("\n").filter((line) => line.startsWith("cloudmap-sd:"));
  }

  it("exits 2 with one line naming CONFIG_FILE_DIR when it cannot be written", async () => {
    // Prepare: a path below a regular file can never be a directory (chmod would not stop root).
    const dir = await dirs.make();
    await writeFile(join(dir, "not-a-directory"), "");
    const env = { ...(await unreachableAwsEnv(dir)), CONFIG_FILE_DIR: join(dir, "not-a-directory", "config") };

    // Act
    const sidecar = run(env);
    const { code } = await sidecar.exited;

    // Assess
    expect(code).toBe(2);
    const lines = ownLines(sidecar.stderr());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("CONFIG_FILE_DIR=");
    expect(lines[0]).toContain("ENOTDIR");
  });

  it("--help prints every setting with its default and exits 0", async () => {
    const sidecar = run({ PATH: process.env.PATH ?? "" }, ["--help"]);

    const { code } = await sidecar.exited;

    expect(code).toBe(0);
    for (const name of SETTINGS) expect(sidecar.stdout()).toContain(name);
    expect(sidecar.stdout()).toContain("ECS-ServiceDiscovery-Namespaces");
    expect(sidecar.stdout()).toContain("0.0.0.0:9001");
  });

  it.each([
    ["CONFIG_RELOAD_FREQUENCY", "abc"],
    ["CONFIG_RELOAD_FREQUENCY", "0"],
    ["LISTEN_ADDRESS", "localhost"],
    ["HEALTH_STATUS", "SOMETIMES"],
    ["DISCOVERY_CONCURRENCY", "0"],
    ["ECS_ENRICHMENT", "maybe"],
  ])("exits non-zero with one line naming %s=%s", async (variable, value) => {
    // Prepare
    const dir = await dirs.make();
    const env = { ...(await unreachableAwsEnv(dir)), [variable]: value };

    // Act
    const sidecar = run(env);
    const { code } = await sidecar.exited;

    // Assess
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const lines = ownLines(sidecar.stderr());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(variable);
    expect(lines[0]).toContain(JSON.stringify(value));
    expect(sidecar.stdout()).toBe("");
  });

  it("with AWS unreachable: serves /healthz, is not ready, writes [] in a fresh directory, exits 0 on SIGTERM", async () => {
    // Prepare
    const dir = await dirs.make();
    const sidecar = run(await unreachableAwsEnv(dir));
    const startedLine = await sidecar.logLine((line) => line.msg === "cloudmap-sd started");
    const url = String(startedLine.url);
    await sidecar.logLine((line) => line.msg === "discovery cycle finished");

    // Act
    const healthz = await fetch(`${url}/healthz`);
    const ready = await fetch(`${url}/ready`);
    const served = await (await fetch(`${url}/prometheus-targets`)).text();
    const metrics = await (await fetch(`${url}/metrics`)).text();
    sidecar.child.kill("SIGTERM");
    const { code } = await sidecar.exited;

    // Assess
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(healthz.status).toBe(200);
    expect(ready.status).toBe(503);
    expect(await readFile(join(dir, "ecs-services.json"), "utf8")).toBe("[]\n");
    expect(served).toBe("[]\n");
    expect(metrics).toMatch(/cloudmap_sd_cycles_total\{outcome="failure"\} [1-9]/);
    expect(code).toBe(0);
    await sidecar.logLine((line) => line.msg === "cloudmap-sd stopped");
    const output = sidecar.stdout() + sidecar.stderr();
    expect(output).not.toContain(TEST_CREDENTIALS.secretAccessKey);
    expect(output).not.toContain(TEST_CREDENTIALS.accessKeyId);
  });

  it("leaves an existing targets file byte-identical while AWS is unreachable", async () => {
    // Prepare
    const dir = await dirs.make();
    const existing = Buffer.from('[\n{"targets":["10.0.1.5:8080"],"labels":{"__metrics_path__":"/metrics","job":"kept"}}\n]\n');
    await writeFile(join(dir, "ecs-services.json"), existing);
    const sidecar = run(await unreachableAwsEnv(dir));
    const startedLine = await sidecar.logLine((line) => line.msg === "cloudmap-sd started");

    // Act: let several cycles fail.
    await sidecar.logLine((line) => line.msg === "discovery cycle finished", 2);
    const served = await (await fetch(`${String(startedLine.url)}/prometheus-targets`)).text();
    sidecar.child.kill("SIGTERM");
    const { code } = await sidecar.exited;

    // Assess
    expect(await readFile(join(dir, "ecs-services.json"))).toEqual(existing);
    expect(served).toBe(existing.toString("utf8"));
    expect(code).toBe(0);
  });

  it("stops cleanly on SIGINT too", async () => {
    const dir = await dirs.make();
    const sidecar = run(await unreachableAwsEnv(dir));
    await sidecar.logLine((line) => line.msg === "discovery cycle finished");

    sidecar.child.kill("SIGINT");
    const { code } = await sidecar.exited;

    expect(code).toBe(0);
    expect(ownLines(sidecar.stderr())).toEqual(["cloudmap-sd: SIGINT received, stopping"]);
  });
});
