// The built sidecar as a process: what a user (or ECS) sees when starting it.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../src/config.js";
import { start } from "../src/main.js";
import { TEST_CREDENTIALS } from "./helpers/aws-fixtures.js";
import { built } from "./helpers/built.js";
import { tempDirs } from "./helpers/fixtures.js";
import { hang, loopbackEndpoint, useLoopbackEndpoint } from "./helpers/loopback.js";

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
    built("dist/src/main.js");
  }, 60_000);

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
      CONFIG_RELOAD_FREQUENCY: "200ms",
      LISTEN_ADDRESS: "127.0.0.1:0",
      LOG_LEVEL: "debug",
    };
  }

  function without(env: Record<string, string>, ...names: string[]): Record<string, string> {
    return Object.fromEntries(Object.entries(env).filter(([name]) => !names.includes(name)));
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

  it("--version prints package.json's version and exits 0", async () => {
    // Prepare
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };

    // Act
    const sidecar = run({ PATH: process.env.PATH ?? "" }, ["--version"]);
    const { code } = await sidecar.exited;

    // Assess
    expect(code).toBe(0);
    expect(sidecar.stdout()).toBe(`cloudmap-sd ${version}\n`);
  });

  it.each([
    ["CONFIG_RELOAD_FREQUENCY", "abc"],
    ["CONFIG_RELOAD_FREQUENCY", "0"],
    ["CONFIG_RELOAD_FREQUENCY", "5M"],
    ["AWS_CALL_TIMEOUT", "1h"],
    ["LISTEN_ADDRESS", "localhost"],
    ["HEALTH_STATUS", "SOMETIMES"],
    ["DISCOVERY_CONCURRENCY", "0"],
    ["ECS_ENRICHMENT", "maybe"],
    ["AWS_REGION", "EU-WEST-1"],
    ["AWS_ENDPOINT_URL", "localhost:4566"],
  ])("exits 2 with one line naming %s=%s", async (variable, value) => {
    // Prepare
    const dir = await dirs.make();
    const env = { ...(await unreachableAwsEnv(dir)), [variable]: value };

    // Act
    const sidecar = run(env);
    const { code } = await sidecar.exited;

    // Assess
    expect(code).toBe(2);
    const lines = ownLines(sidecar.stderr());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(variable);
    expect(lines[0]).toContain(JSON.stringify(value));
    expect(sidecar.stdout()).toBe("");
  });

  it("exits 2 with one line naming AWS_REGION when no region can be found", async () => {
    // Prepare: no AWS_REGION, no AWS_DEFAULT_REGION, and a shared config file that does not exist.
    const dir = await dirs.make();
    const env = without(await unreachableAwsEnv(dir), "AWS_REGION");

    // Act
    const sidecar = run(env);
    const { code } = await sidecar.exited;

    // Assess
    expect(code).toBe(2);
    expect(ownLines(sidecar.stderr())).toEqual(["cloudmap-sd: AWS_REGION is not set: set it to the region of your Cloud Map namespaces (e.g. eu-west-1)"]);
    expect(sidecar.stdout()).toBe("");
  });

  it.each<[string, (dir: string) => Promise<Record<string, string>>, string]>([
    ["AWS_DEFAULT_REGION (which the JS SDK alone ignores)", async () => ({ AWS_DEFAULT_REGION: "eu-west-3" }), "eu-west-3"],
    [
      "the AWS_PROFILE's region in the shared config file",
      async (dir) => {
        // With AWS_PROFILE set the SDK takes credentials from the profile, not from AWS_ACCESS_KEY_ID.
        const profile = `[profile monitoring]\nregion = ap-southeast-2\naws_access_key_id = ${TEST_CREDENTIALS.accessKeyId}\naws_secret_access_key = ${TEST_CREDENTIALS.secretAccessKey}\n`;
        await writeFile(join(dir, "aws-config"), profile);
        return { AWS_CONFIG_FILE: join(dir, "aws-config"), AWS_PROFILE: "monitoring" };
      },
      "ap-southeast-2",
    ],
  ])("starts with the region from %s, signs its AWS requests for it, and logs it", async (_source, regionEnv, region) => {
    // Prepare: an AWS endpoint that records each request's SigV4 credential scope and refuses it.
    const scopes: string[] = [];
    const endpoint = createServer((request, response) => {
      const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(request.headers.authorization ?? "")?.[1];
      scopes.push(scope ?? "unsigned");
      response.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
      response.end(JSON.stringify({ __type: "ValidationException", message: "recorded" }));
    });
    endpoint.listen(0, "127.0.0.1");
    await once(endpoint, "listening");
    const dir = await dirs.make();
    const env = {
      ...without(await unreachableAwsEnv(dir), "AWS_REGION"),
      AWS_ENDPOINT_URL: `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`,
      ...(await regionEnv(dir)),
    };

    try {
      // Act
      const sidecar = run(env);
      const startedLine = await sidecar.logLine((line) => line.msg === "cloudmap-sd started");
      await sidecar.logLine((line) => line.msg === "discovery cycle finished");
      sidecar.child.kill("SIGTERM");
      const { code } = await sidecar.exited;

      // Assess
      expect(startedLine.region).toBe(region);
      expect(scopes.length).toBeGreaterThan(0);
      expect(new Set(scopes)).toEqual(new Set([region]));
      expect(code).toBe(0);
    } finally {
      endpoint.closeAllConnections();
      await new Promise((resolveClose) => endpoint.close(resolveClose));
    }
  });

  it("exits 2 with one line naming LISTEN_ADDRESS and its value when the port is in use", async () => {
    // Prepare
    const dir = await dirs.make();
    const occupant = createServer();
    occupant.listen(0, "127.0.0.1");
    await once(occupant, "listening");
    const listenAddress = `127.0.0.1:${(occupant.address() as AddressInfo).port}`;

    try {
      // Act
      const sidecar = run({ ...(await unreachableAwsEnv(dir)), LISTEN_ADDRESS: listenAddress });
      const { code } = await sidecar.exited;

      // Assess
      expect(code).toBe(2);
      const lines = ownLines(sidecar.stderr());
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`LISTEN_ADDRESS=${JSON.stringify(listenAddress)}`);
      expect(lines[0]).toContain("already in use");
    } finally {
      await new Promise((resolveClose) => occupant.close(resolveClose));
    }
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

  it("says at startup which version, region and endpoint it uses, and which build in /metrics", async () => {
    // Prepare
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    const dir = await dirs.make();
    const sidecar = run(await unreachableAwsEnv(dir));

    // Act
    const startedLine = await sidecar.logLine((line) => line.msg === "cloudmap-sd started");
    const metrics = await (await fetch(`${String(startedLine.url)}/metrics`)).text();
    sidecar.child.kill("SIGTERM");
    await sidecar.exited;

    // Assess
    expect(startedLine).toMatchObject({ version, region: "eu-west-1", endpoints: { AWS_ENDPOINT_URL: "http://127.0.0.1:1" } });
    expect(metrics).toContain(`cloudmap_sd_build_info{version="${version}",node="${process.version}"} 1`);
  });

  it("writes only JSON lines, the shutdown signal included", async () => {
    // Prepare
    const dir = await dirs.make();
    const sidecar = run(await unreachableAwsEnv(dir));
    await sidecar.logLine((line) => line.msg === "discovery cycle finished");

    // Act
    sidecar.child.kill("SIGTERM");
    const { code } = await sidecar.exited;

    // Assess
    expect(code).toBe(0);
    const stdoutLines = sidecar.stdout().split("\n").filter((line) => line !== "");
    for (const line of stdoutLines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(ownLines(sidecar.stderr())).toEqual([]);
    await sidecar.logLine((line) => line.msg === "signal received, stopping" && line.signal === "SIGTERM");
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
    expect(ownLines(sidecar.stderr())).toEqual([]);
    await sidecar.logLine((line) => line.msg === "signal received, stopping" && line.signal === "SIGINT");
  });
});

describe("start(), in-process", () => {
  const dirs = tempDirs("cloudmap-sd-start-");
  afterEach(async () => {
    vi.unstubAllEnvs();
    await dirs.cleanup();
  });

  it("stop() aborts a cycle blocked on a hung AWS call, and no AWS request follows", async () => {
    // Prepare: an AWS endpoint that takes every request and never answers it.
    const endpoint = await loopbackEndpoint([hang]);
    const dir = await dirs.make();
    useLoopbackEndpoint(endpoint.url);
    vi.stubEnv("AWS_REGION", "eu-west-1");
    vi.stubEnv("AWS_CONFIG_FILE", join(dir, "no-aws-config"));
    vi.stubEnv("AWS_SHARED_CREDENTIALS_FILE", join(dir, "no-aws-credentials"));
    vi.stubEnv("AWS_EC2_METADATA_DISABLED", "true");
    // A call timeout far beyond the test: only stop() can end the hung call.
    const config = loadConfig({
      AWS_REGION: "eu-west-1",
      AWS_ENDPOINT_URL: endpoint.url,
      CONFIG_FILE_DIR: dir,
      CONFIG_RELOAD_FREQUENCY: "200ms",
      LISTEN_ADDRESS: "127.0.0.1:0",
      LOG_LEVEL: "silent",
      AWS_CALL_TIMEOUT: "5m",
    });
    const sidecar = await start(config);

    try {
      await endpoint.requestArrived(1);

      // Act
      await sidecar.stop();
      const atStop = endpoint.requests.length;
      // Several intervals and retry back-offs: a loop that was not aborted would have sent again.
      await sleep(1_500);

      // Assess
      expect(endpoint.requests.length).toBe(atStop);
    } finally {
      await endpoint.close();
    }
  });
});
