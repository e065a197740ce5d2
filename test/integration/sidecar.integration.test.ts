/**
 * The sidecar in-process, with the real AWS SDK clients, against the project's emulator: every
 * list paginated (page size 1), ECS enrichment, retries under throttling, the cost of a steady
 * cycle, and a restart during an outage.
 *
 * Every test but the one about start() drives the cycles itself (createSidecar, then
 * discovery.runCycle) on a ManualClock that moves one interval per cycle, and reads what each
 * cycle reports: what is counted belongs to exactly the cycles the test ran, and no cache expires
 * because the machine was slow. No timer decides where a count begins.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { textOf } from "../../src/core/file-content.js";
import { type Emulator, startEmulator, syntheticTopology } from "../../dev/emulator/index.js";
import { waitFor } from "../../dev/processes.js";
import { ManualClock } from "../../src/clock.js";
import { loadConfig } from "../../src/config.js";
import { createSidecar, type RunningSidecar, type Sidecar, start } from "../../src/main.js";
import type { CycleReport } from "../../src/runtime/discovery-cycle.js";

// The SDK reads these itself (that is the point: nothing custom); each vitest file has its own process.
process.env.AWS_REGION = "us-east-1";
process.env.AWS_ACCESS_KEY_ID = "AKIDINTEGRATION";
process.env.AWS_SECRET_ACCESS_KEY = "integration-secret";
process.env.AWS_EC2_METADATA_DISABLED = "true";

// 2 namespaces (one DNS_PRIVATE, one HTTP) × 10 services × 3 instances. Per namespace: services 0 and 5
// also have an ECS_METRICS endpoint, service 9 is untagged and scraped through docker labels.
const NAMESPACES = 2;
const SERVICES = NAMESPACES * 10;
const EXPECTED_TARGETS = NAMESPACES * (2 * 2 + 8) * 3;
const INTERVAL_SECONDS = 0.3;

interface Group {
  targets: string[];
  labels: Record<string, string>;
}

describe("cloudmap-sd against the emulator with the real SDK clients", () => {
  let emulator: Emulator;
  let dir: string;
  /** Driven cycle by cycle by the test, on `clock`. */
  let sidecar: Sidecar | undefined;
  let clock: ManualClock;
  /** start(): its own loop and HTTP server. */
  let running: RunningSidecar | undefined;
  const savedMaxAttempts = process.env.AWS_MAX_ATTEMPTS;

  const targetsPath = () => join(dir, "ecs-services.json");
  const readTargets = async () => JSON.parse(await readFile(targetsPath(), "utf8")) as Group[];
  const configWith = (extra: Record<string, string>) => {
    process.env.AWS_ENDPOINT_URL = emulator.url;
    return loadConfig({
      CONFIG_FILE_DIR: dir,
      LISTEN_ADDRESS: "127.0.0.1:0",
      CONFIG_RELOAD_FREQUENCY: String(INTERVAL_SECONDS),
      LOG_LEVEL: "silent",
      AWS_ENDPOINT_URL: emulator.url,
      ...extra,
    });
  };
  const createDriven = async (extra: Record<string, string> = {}) => {
    sidecar = await createSidecar(configWith(extra), { clock });
    return sidecar;
  };
  /** One cycle, then one interval passes, as the refresh loop would have it. */
  const runCycle = async (subject: Sidecar): Promise<CycleReport> => {
    const report = await subject.discovery.runCycle(new AbortController().signal);
    clock.advance(INTERVAL_SECONDS * 1000);
    return report;
  };
  /** Lines of the sidecar's own /metrics exposition that start with `prefix`. */
  const metric = async (subject: Sidecar, prefix: string) =>
    (await subject.metrics.registry.metrics()).split("\n").filter((line) => line.startsWith(prefix));

  beforeAll(async () => {
    emulator = await startEmulator({
      pageSize: 1,
      topology: syntheticTopology({ namespaces: NAMESPACES, servicesPerNamespace: 10, instancesPerService: 3, withEcs: true }),
    });
  });
  afterAll(() => emulator.close());
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "cloudmap-sd-integration-"));
    clock = new ManualClock();
    emulator.faults.clear();
    emulator.calls.reset();
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    sidecar?.destroy();
    sidecar = undefined;
    if (savedMaxAttempts === undefined) delete process.env.AWS_MAX_ATTEMPTS;
    else process.env.AWS_MAX_ATTEMPTS = savedMaxAttempts;
    await rm(dir, { recursive: true, force: true });
  });

  it("reads every page of every list in its first cycle and publishes every target with Cloud Map and ECS labels", async () => {
    // Prepare
    const subject = await createDriven();

    // Act
    const report = await runCycle(subject);

    // Assess
    expect(report).toMatchObject({ outcome: "success", targets: EXPECTED_TARGETS, errors: 0, file: "written" });
    const groups = await readTargets();
    expect(groups).toHaveLength(EXPECTED_TARGETS);
    expect(new Set(groups.map((g) => g.labels.__meta_cloudmap_namespace_type))).toEqual(new Set(["DNS_PRIVATE", "HTTP"]));
    const dockerLabelled = groups.filter((g) => g.labels.__meta_cloudmap_endpoint === "docker_label");
    expect(dockerLabelled).toHaveLength(NAMESPACES * 3);
    expect(dockerLabelled[0]?.labels.__meta_ecs_container_name).toBe("app");
    for (const group of groups) {
      expect(group.labels.__meta_ecs_task_arn).toMatch(/^arn:aws:ecs:us-east-1:123456789012:task\/cluster-\d\//);
      expect(group.labels.__meta_ecs_launch_type).toBe("FARGATE");
    }
    expect(subject.health.ready).toBe(true);
    expect(textOf(subject.targetsFile.content ?? "")).toBe(await readFile(targetsPath(), "utf8"));
  });

  it("start() runs the cycles itself and serves what it published over HTTP", async () => {
    // Prepare
    running = await start(configWith({}));
    const sidecarUrl = running.url;

    // Act: /ready turns 200 only after a complete discovery was published, so no count or sleep is needed.
    await waitFor("/ready to answer 200", async () => ((await fetch(`${sidecarUrl}/ready`)).status === 200 ? true : undefined));

    // Assess
    const file = await readFile(targetsPath(), "utf8");
    expect(JSON.parse(file)).toHaveLength(EXPECTED_TARGETS);
    // The estate does not change, so later cycles leave the file as it is.
    expect(await (await fetch(`${sidecarUrl}/prometheus-targets`)).text()).toBe(file);
    expect(await (await fetch(`${sidecarUrl}/metrics`)).text()).toMatch(/^cloudmap_sd_cycles_total\{outcome="success"\} [1-9]/m);
  });

  it("costs one revision call per service plus the parameter, namespace and service lists in a steady cycle", async () => {
    // Prepare: without retries, what the emulator receives is exactly what the cycle calls. The
    // clock moves one interval per cycle, far from any tag or instance re-read.
    process.env.AWS_MAX_ATTEMPTS = "1";
    const subject = await createDriven();
    expect(await runCycle(subject)).toMatchObject({ outcome: "success", targets: EXPECTED_TARGETS });

    for (let steady = 1; steady <= 2; steady++) {
      emulator.calls.reset();

      // Act
      const report = await runCycle(subject);

      // Assess: page size 1, so one ListNamespaces page per name and one ListServices page per service.
      const expected = {
        DiscoverInstancesRevision: SERVICES,
        GetParameter: 1,
        ListNamespaces: NAMESPACES,
        ListServices: SERVICES,
      };
      expect(emulator.calls.snapshot(), `steady cycle ${steady}`).toEqual(expected);
      expect(report).toMatchObject({ outcome: "success", file: "unchanged", added: 0, removed: 0, errors: 0 });
      expect(report.apiCalls).toBe(1 + NAMESPACES + 2 * SERVICES);
    }
  });

  it("retries throttled calls with the SDK's retry and still publishes everything", async () => {
    // Prepare
    emulator.faults.set("DiscoverInstances", { errorCount: 3, error: "ThrottlingException" });
    emulator.faults.set("ListServices", { errorCount: 1, error: "ServiceUnavailable" });
    const subject = await createDriven();

    // Act: the SDK retries within the call; should one call meet all three throttles, its part
    // stays unread and the next cycle reads it. A bounded number of cycles, not a time limit.
    const reports: CycleReport[] = [];
    do reports.push(await runCycle(subject));
    while (reports.at(-1)?.outcome !== "success" && reports.length < 3);

    // Assess
    expect(reports.at(-1)).toMatchObject({ outcome: "success", targets: EXPECTED_TARGETS, errors: 0 });
    expect(await readTargets()).toHaveLength(EXPECTED_TARGETS);
    const attempts = await metric(subject, 'cloudmap_sd_aws_request_attempts_total{operation="DiscoverInstances",outcome="ThrottlingException"}');
    expect(attempts).toEqual([expect.stringMatching(/ 3$/)]);
    const unavailable = await metric(subject, 'cloudmap_sd_aws_request_attempts_total{operation="ListServices",outcome="ServiceUnavailable"}');
    expect(unavailable).toEqual([expect.stringMatching(/ 1$/)]);
  });

  it("keeps an existing file through a restart during an outage, then replaces it once discovery is complete", async () => {
    // Prepare
    const previous = '[\n{"targets":["10.9.9.9:8080"],"labels":{"namespace":"synthetic-0"}}\n]\n';
    await writeFile(targetsPath(), previous);
    emulator.faults.set("ListServices", { errorRate: 1, error: "ServiceUnavailable" });
    process.env.AWS_MAX_ATTEMPTS = "1"; // the SDK reads it from the environment, not from loadConfig
    const subject = await createDriven();

    // Act
    const held = [await runCycle(subject), await runCycle(subject)];

    // Assess
    for (const report of held) expect(report).toMatchObject({ outcome: "failure", file: "held" });
    expect(await readFile(targetsPath(), "utf8")).toBe(previous);
    expect(subject.health.ready).toBe(false);
    expect(textOf(subject.targetsFile.content ?? "")).toBe(previous);
    expect(await metric(subject, 'cloudmap_sd_file_writes_total{file="targets",outcome="held"}')).toEqual([expect.stringMatching(/ 2$/)]);

    // Act: the outage ends.
    emulator.faults.clear();
    const recovered = await runCycle(subject);

    // Assess
    expect(recovered).toMatchObject({ outcome: "success", file: "written", targets: EXPECTED_TARGETS });
    expect(await readTargets()).toHaveLength(EXPECTED_TARGETS);
    expect(subject.health.ready).toBe(true);
  });
});
