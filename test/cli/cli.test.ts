/**
 * `cloudmap-sd explain` and `cloudmap-sd once --print`, in-process (runCli with captured output)
 * and through the built binary, against the emulator.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../../dev/emulator/index.js";
import { runCli } from "../../src/cli/run.js";
import { loadConfig } from "../../src/config.js";
import { createSidecar } from "../../src/main.js";
import { built } from "../helpers/built.js";

const TOPOLOGY = new URL("../../dev/emulator/sample-topology.yaml", import.meta.url).pathname;
const AWS_ENV = { AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "AKIDCLI", AWS_SECRET_ACCESS_KEY: "cli-secret", AWS_EC2_METADATA_DISABLED: "true", AWS_MAX_ATTEMPTS: "1" };
// The AWS SDK reads its own variables (endpoint, credentials) from process.env.
Object.assign(process.env, AWS_ENV);

let emulator: Emulator;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulator({ topology: TOPOLOGY });
  process.env.AWS_ENDPOINT_URL = emulator.url;
});
afterAll(() => emulator.close());
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "cloudmap-sd-cli-"));
  emulator.faults.clear();
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    env: { ...process.env, CONFIG_FILE_DIR: dir },
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
}

describe("cloudmap-sd explain", () => {
  it("prints every service with its source, counts and why, and exits 0 when everything was read", async () => {
    const { code, stdout, stderr } = await cli("explain");

    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toContain('namespaces parameter ECS-ServiceDiscovery-Namespaces: "ecs-services,ecs-connect,workload-services"');
    expect(stdout).toContain("namespace ecs-services: ok (DNS_PRIVATE");
    expect(stdout).toMatch(/^NAMESPACE\s+SERVICE\s+SOURCE\s+INSTANCES\s+TARGETS\s+STATUS\s+WHY$/m);
    expect(stdout).toMatch(/^ecs-services\s+webapp-svc\s+tags\s+2\s+2\s+scraped\s+tags METRICS_PATH=\/metrics, METRICS_PORT=3000$/m);
    expect(stdout).toMatch(/^ecs-services\s+batch-worker-svc\s+none\s+1\s+0\s+NOT scraped\s+no METRICS_PATH or METRICS_PORT tag/m);
    // The namespace another account shares (AWS RAM): its service is configured through service attributes.
    expect(stdout).toContain("namespace workload-services: ok (HTTP");
    expect(stdout).toMatch(/^workload-services\s+inventory-svc\s+service attributes\s+1\s+1\s+scraped\s+service attributes METRICS_PATH=\/metrics, METRICS_PORT=9100$/m);
    expect(stdout).toContain("everything listed was read: 4 of 5 services scraped, 8 targets");
    // A dry run: nothing written where the sidecar writes.
    expect(await readdir(dir)).toEqual([]);
  });

  it("shows one namespace, or one service", async () => {
    const namespace = await cli("explain", "ecs-connect");
    const service = await cli("explain", "ecs-services/orders-svc");

    expect(namespace.code).toBe(0);
    expect(namespace.stdout).toMatch(/^ecs-connect\s+payments\s/m);
    expect(namespace.stdout).not.toMatch(/^ecs-services\s/m);
    expect(namespace.stdout).not.toContain("namespace ecs-services:");
    expect(service.code).toBe(0);
    expect(service.stdout.match(/^ecs-services\s+\S+/gm)).toEqual(["ecs-services  orders-svc"]);
  });

  it("exits 1 and says why when a listed part cannot be read", async () => {
    emulator.faults.set("ListServices", { errorRate: 1, error: "AccessDeniedException", status: 400, message: "denied by policy" });

    const { code, stdout } = await cli("explain", "ecs-services");

    expect(code).toBe(1);
    expect(stdout).toContain("namespace ecs-services: error");
    expect(stdout).toContain("NOT everything listed was read:");
    expect(stdout).toContain("AccessDeniedException: denied by policy");
  });

  it("exits 1 for a namespace the parameter does not list, or a service the namespace does not have", async () => {
    const namespace = await cli("explain", "nope.local");
    const service = await cli("explain", "ecs-services/nope");

    expect(namespace.code).toBe(1);
    expect(namespace.stdout).toContain('namespace "nope.local" is not listed in ECS-ServiceDiscovery-Namespaces (it lists: ecs-services, ecs-connect, workload-services)');
    expect(service.code).toBe(1);
    expect(service.stdout).toContain('service "nope" is not in namespace "ecs-services"');
  });

  it("exits 1 when the namespaces parameter cannot be read", async () => {
    const { code, stdout } = await cli("explain", "ecs-services");
    expect(code).toBe(0);
    process.env.DISCOVERY_NAMESPACES_PARAMETER_NAME = "missing-parameter";
    try {
      const missing = await cli("explain");
      expect(missing.code).toBe(1);
      expect(missing.stdout).toContain('namespaces parameter missing-parameter: READ FAILED: ParameterNotFoundError: SSM parameter "missing-parameter" does not exist');
    } finally {
      delete process.env.DISCOVERY_NAMESPACES_PARAMETER_NAME;
    }
    expect(stdout).not.toContain("READ FAILED");
  });

  it("exits 2 for bad usage and for a bad setting, naming the problem", async () => {
    const tooMany = await cli("explain", "a", "b");
    const badFilter = await cli("explain", "a/b/c");
    const unknown = await cli("frobnicate");
    let badSetting: Awaited<ReturnType<typeof cli>>;
    process.env.CONFIG_RELOAD_FREQUENCY = "soon";
    try {
      badSetting = await cli("explain");
    } finally {
      delete process.env.CONFIG_RELOAD_FREQUENCY;
    }

    expect(tooMany).toMatchObject({ code: 2, stdout: "" });
    expect(tooMany.stderr).toContain("explain takes at most one argument");
    expect(badFilter.stderr).toContain('expected namespace or namespace/service, got "a/b/c"');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    expect(unknown.stderr).toContain("Usage:");
    expect(badSetting.code).toBe(2);
    expect(badSetting.stderr).toContain('CONFIG_RELOAD_FREQUENCY="soon" is invalid');
  });
});

describe("cloudmap-sd once --print", () => {
  it("prints exactly the file_sd JSON the sidecar writes, and writes no file", async () => {
    // Prepare: what the sidecar itself writes for this estate
    const written = await mkdtemp(join(tmpdir(), "cloudmap-sd-cli-written-"));
    try {
      const sidecar = await createSidecar(loadConfig({ ...process.env, CONFIG_FILE_DIR: written, LOG_LEVEL: "silent" }));
      await sidecar.discovery.runCycle(new AbortController().signal);
      sidecar.destroy();
      const expected = await readFile(join(written, "ecs-services.json"), "utf8");

      // Act
      const { code, stdout, stderr } = await cli("once", "--print");

      // Assess
      expect(code).toBe(0);
      expect(stderr).toBe("");
      expect(stdout).toBe(expected);
      expect(JSON.parse(stdout)).toHaveLength(8);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(written, { recursive: true, force: true });
    }
  });

  it("prints nothing and exits 1 when the discovery fails", async () => {
    emulator.faults.set("GetParameter", { errorRate: 1, error: "AccessDeniedException", status: 400, message: "no ssm" });

    const { code, stdout, stderr } = await cli("once", "--print");

    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toContain("the discovery failed, nothing would be written");
    expect(stderr).toContain("AccessDeniedException: no ssm");
  });

  it("prints what is known and exits 1 when a part could not be read", async () => {
    emulator.faults.set("DiscoverInstances", { errorRate: 1, error: "ThrottlingException" });

    const { code, stdout, stderr } = await cli("once", "--print");

    expect(code).toBe(1);
    expect(stdout.startsWith("[")).toBe(true);
    expect(stderr).toContain("some parts could not be read (run explain)");
  });

  it("needs --print", async () => {
    const { code, stderr } = await cli("once");
    expect(code).toBe(2);
    expect(stderr).toContain("once needs --print");
  });
});

describe("the built binary", () => {
  const run = (args: string[], env: Record<string, string> = {}) =>
    promisify(execFile)(process.execPath, [built("dist/src/main.js"), ...args], {
      env: { PATH: process.env.PATH, ...AWS_ENV, AWS_ENDPOINT_URL: emulator.url, CONFIG_FILE_DIR: "/nonexistent/dir", NODE_NO_WARNINGS: "1", ...env },
      timeout: 30_000,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
    );

  it("runs explain and once --print from the command line with their exit status", async () => {
    const explain = await run(["explain", "ecs-services/webapp-svc"]);
    const once = await run(["once", "--print"]);
    const failing = await run(["explain"], { DISCOVERY_NAMESPACES_PARAMETER_NAME: "absent" });
    const badSetting = await run(["explain"], { HEALTH_STATUS: "SOMETIMES" });

    expect(explain.code).toBe(0);
    expect(explain.stdout).toMatch(/^ecs-services\s+webapp-svc\s+tags\s+2\s+2\s+scraped/m);
    expect(once.code).toBe(0);
    expect(JSON.parse(once.stdout)).toHaveLength(8);
    expect(failing.code).toBe(1);
    expect(badSetting.code).toBe(2);
    expect(badSetting.stderr).toContain('HEALTH_STATUS="SOMETIMES" is invalid');
  }, 60_000);
});
