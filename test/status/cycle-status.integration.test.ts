/**
 * The cycle feeds the status page: the real sidecar (createSidecar, real SDK clients) against the
 * emulator, cycles driven by the test on a ManualClock.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../../dev/emulator/index.js";
import { ManualClock } from "../../src/clock.js";
import { loadConfig } from "../../src/config.js";
import { createSidecar, type Sidecar } from "../../src/main.js";
import { memoryLogger } from "../helpers/fixtures.js";

process.env.AWS_REGION = "us-east-1";
process.env.AWS_ACCESS_KEY_ID = "AKIDSTATUS";
process.env.AWS_SECRET_ACCESS_KEY = "status-secret";
process.env.AWS_EC2_METADATA_DISABLED = "true";
process.env.AWS_MAX_ATTEMPTS = "1";

const TOPOLOGY = new URL("../../dev/emulator/sample-topology.yaml", import.meta.url).pathname;

describe("the status the cycle records", () => {
  let emulator: Emulator;
  let dir: string;
  let sidecar: Sidecar | undefined;
  let clock: ManualClock;
  let logged: ReturnType<typeof memoryLogger>;

  beforeAll(async () => {
    emulator = await startEmulator({ topology: TOPOLOGY });
    // The SDK reads the endpoint itself (loadConfig only records it).
    process.env.AWS_ENDPOINT_URL = emulator.url;
  });
  afterAll(() => emulator.close());
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "cloudmap-sd-status-"));
    clock = new ManualClock();
    emulator.faults.clear();
    logged = memoryLogger("info");
    sidecar = await createSidecar(
      loadConfig({ CONFIG_FILE_DIR: dir, LISTEN_ADDRESS: "127.0.0.1:0", AWS_ENDPOINT_URL: emulator.url, CONFIG_RELOAD_FREQUENCY: "30" }),
      { clock, logger: logged.logger },
    );
  });
  afterEach(async () => {
    sidecar?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  const cycle = async () => {
    const report = await (sidecar as Sidecar).discovery.runCycle(new AbortController().signal);
    clock.advance(30_000);
    return report;
  };

  it("records the parameter, the namespaces, every service and the cycle", async () => {
    await cycle();

    const status = (sidecar as Sidecar).status.status();
    expect(status.namespacesParameter).toMatchObject({ name: "ECS-ServiceDiscovery-Namespaces", value: "ecs-services,ecs-connect,workload-services", namespaces: ["ecs-services", "ecs-connect", "workload-services"] });
    expect(status.namespaces.map((ns) => [ns.name, ns.state, ns.types])).toEqual([
      ["ecs-services", "ok", ["DNS_PRIVATE"]],
      ["ecs-connect", "ok", ["HTTP"]],
      ["workload-services", "ok", ["HTTP"]],
    ]);
    expect(status.services.map((s) => [s.namespace, s.name, s.scraped, s.source])).toEqual([
      ["ecs-connect", "payments", true, "tags"],
      ["ecs-services", "batch-worker-svc", false, "none"],
      ["ecs-services", "orders-svc", true, "tags"],
      ["ecs-services", "webapp-svc", true, "tags"],
      ["workload-services", "inventory-svc", true, "service_attributes"],
    ]);
    expect(status.summary.targets).toBe(JSON.parse(await readFile(join(dir, "ecs-services.json"), "utf8")).length);
    expect(status.cycles).toHaveLength(1);
    // Every listed service's Cloud Map revision, as the fetcher last read it.
    expect(status.services.every((s) => typeof s.revision === "number")).toBe(true);
    expect(status.cycles[0]).toMatchObject({ outcome: "success", file: "written" });
    expect(status.sidecar.ready).toBe(true);
  });

  it("on a sharded sidecar, counts every discovered target: a service on another shard is still scraped", async () => {
    // Prepare: the same estate, unsharded first, then as shard 0 of 3
    await cycle();
    const all = (sidecar as Sidecar).status.status();
    sidecar?.destroy();
    sidecar = await createSidecar(
      loadConfig({ CONFIG_FILE_DIR: dir, LISTEN_ADDRESS: "127.0.0.1:0", AWS_ENDPOINT_URL: emulator.url, SHARD_COUNT: "3", SHARD_INDEX: "0" }),
      { clock, logger: logged.logger },
    );

    // Act
    await cycle();

    // Assess
    const sharded = (sidecar as Sidecar).status.status();
    const inFile = JSON.parse(await readFile(join(dir, "ecs-services.json"), "utf8")).length;
    expect(inFile).toBeLessThan(all.summary.targets);
    expect(sharded.summary.targets).toBe(all.summary.targets);
    expect(sharded.services.map((s) => [s.name, s.scraped, s.targets])).toEqual(all.services.map((s) => [s.name, s.scraped, s.targets]));
  });

  it("shows namespaces in error and their services last-known-good while ListServices is denied", async () => {
    // Prepare
    await cycle();
    emulator.faults.set("ListServices", { errorRate: 1, error: "AccessDeniedException", status: 400, message: "not authorized" });

    // Act
    const report = await cycle();

    // Assess
    const status = (sidecar as Sidecar).status.status();
    expect(report.outcome).toBe("partial");
    expect(status.namespaces.every((ns) => ns.state === "error")).toBe(true);
    expect(status.namespaces[0]?.error).toContain("AccessDeniedException: not authorized");
    const webapp = status.services.find((s) => s.name === "webapp-svc");
    expect(webapp).toMatchObject({ scraped: true, targets: 2 });
    expect(webapp?.lastKnownGoodSince).toBeDefined();
    expect(status.errors[0]).toMatchObject({ operation: "ListServices", kind: "access_denied", current: true });
    expect(status.cycles.map((c) => c.outcome)).toEqual(["partial", "success"]);
  });

  it("a failing status recorder changes nothing of the cycle: logged once, counted, the file still written", async () => {
    // Prepare: the recorder the cycle feeds throws (a bug in it)
    const subject = sidecar as Sidecar;
    subject.status.cycleFinished = () => {
      throw new Error("recorder bug");
    };

    // Act
    const first = await cycle();
    const second = await cycle();

    // Assess
    expect(first).toMatchObject({ outcome: "success", file: "written" });
    expect(second).toMatchObject({ outcome: "success", file: "unchanged" });
    expect(JSON.parse(await readFile(join(dir, "ecs-services.json"), "utf8")).length).toBe(first.targets);
    const failures = logged.lines().filter((line) => String(line.msg).startsWith("recording the cycle for the status page failed"));
    expect(failures).toHaveLength(1);
    expect(failures[0]?.err).toBe("Error: recorder bug");
    expect(await subject.metrics.registry.metrics()).toMatch(/^cloudmap_sd_status_record_failures_total 2$/m);
  });
});
