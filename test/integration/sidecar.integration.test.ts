/**
 * The sidecar in-process, with the real AWS SDK clients, against the project's emulator: every
 * list paginated (page size 1), ECS enrichment, retries under throttling, the cost of a steady
 * cycle, and a restart during an outage.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Emulator, startEmulator, syntheticTopology } from "../../dev/emulator/index.js";
import { waitFor } from "../../dev/processes.js";
import { loadConfig } from "../../src/config.js";
import { type RunningSidecar, start } from "../../src/main.js";

// The SDK reads these itself (that is the point: nothing custom); each vitest file has its own process.
process.env.AWS_REGION = "us-east-1";
process.env.AWS_ACCESS_KEY_ID = "AKIDINTEGRATION";
process.env.AWS_SECRET_ACCESS_KEY = "integration-secret";
process.env.AWS_EC2_METADATA_DISABLED = "true";

// 2 namespaces (one DNS_PRIVATE, one HTTP) × 10 services × 3 instances. Per namespace: services 0 and 5
// also have an ECS_METRICS endpoint, service 9 is untagged and scraped through docker labels.
const EXPECTED_TARGETS = 2 * (2 * 2 + 8) * 3;

interface Group {
  targets: string[];
  labels: Record<string, string>;
}

describe("cloudmap-sd against the emulator with the real SDK clients", () => {
  let emulator: Emulator;
  let dir: string;
  let sidecar: RunningSidecar | undefined;
  const targetsPath = () => join(dir, "ecs-services.json");
  const readTargets = async () => JSON.parse(await readFile(targetsPath(), "utf8")) as Group[];
  const startSidecar = (extra: Record<string, string> = {}) => {
    process.env.AWS_ENDPOINT_URL = emulator.url;
    return start(
      loadConfig({
        CONFIG_FILE_DIR: dir,
        LISTEN_ADDRESS: "127.0.0.1:0",
        CONFIG_RELOAD_FREQUENCY: "0.3",
        LOG_LEVEL: "silent",
        AWS_ENDPOINT_URL: emulator.url,
        ...extra,
      }),
    );
  };
  const metric = async (name: string) => {
    const text = await (await fetch(`${sidecar?.url}/metrics`)).text();
    return text.split("\n").filter((line) => line.startsWith(name));
  };

  beforeAll(async () => {
    emulator = await startEmulator({
      pageSize: 1,
      topology: syntheticTopology({ namespaces: 2, servicesPerNamespace: 10, instancesPerService: 3, withEcs: true }),
    });
  });
  afterAll(() => emulator.close());
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "cloudmap-sd-integration-"));
    emulator.faults.clear();
  });
  afterEach(async () => {
    await sidecar?.stop();
    sidecar = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it("reads every page of every list and publishes every target with Cloud Map and ECS labels", async () => {
    sidecar = await startSidecar();
    const groups = await waitFor("all targets", async () => {
      const current = await readTargets();
      return current.length === EXPECTED_TARGETS ? current : undefined;
    });
    expect(new Set(groups.map((g) => g.labels.__meta_cloudmap_namespace_type))).toEqual(new Set(["DNS_PRIVATE", "HTTP"]));
    const dockerLabelled = groups.filter((g) => g.labels.__meta_cloudmap_endpoint === "docker_label");
    expect(dockerLabelled).toHaveLength(2 * 3);
    expect(dockerLabelled[0]?.labels.__meta_ecs_container_name).toBe("app");
    for (const group of groups) {
      expect(group.labels.__meta_ecs_task_arn).toMatch(/^arn:aws:ecs:us-east-1:123456789012:task\/cluster-\d\//);
      expect(group.labels.__meta_ecs_launch_type).toBe("FARGATE");
    }
    expect((await fetch(`${sidecar.url}/ready`)).status).toBe(200);
    expect(await (await fetch(`${sidecar.url}/prometheus-targets`)).text()).toBe(await readFile(targetsPath(), "utf8"));
  });

  it("costs one revision call per service plus the namespace and service lists in a steady cycle", async () => {
    sidecar = await startSidecar();
    await waitFor("all targets", async () => ((await readTargets()).length === EXPECTED_TARGETS ? true : undefined));
    // Let one more cycle pass, then count exactly one full cycle's calls.
    const cycles = async () => Number((await metric("cloudmap_sd_cycles_total"))[0]?.split(" ")[1] ?? 0);
    const first = await cycles();
    await waitFor("a cycle", async () => ((await cycles()) > first ? true : undefined));
    emulator.calls.reset();
    const counted = await cycles();
    await waitFor("the next cycle", async () => ((await cycles()) > counted ? true : undefined));
    await sidecar.stop();
    sidecar = undefined;
    const calls = emulator.calls.snapshot();
    // Exactly one cycle may straddle the reset; the per-cycle shape is what matters.
    const perCycle = calls.DiscoverInstancesRevision ?? 0;
    expect(perCycle % 20).toBe(0);
    const n = perCycle / 20;
    expect(n).toBeGreaterThanOrEqual(1);
    expect(calls.DiscoverInstances ?? 0).toBe(0);
    expect(calls.ListTagsForResource ?? 0).toBe(0);
    expect(calls.DescribeTasks ?? 0).toBe(0);
    expect(calls.DescribeTaskDefinition ?? 0).toBe(0);
    expect(calls.GetParameter).toBe(n);
    // Page size 1: one page per namespace match (+1 when the token leads to an empty page is not how AWS works).
    expect(calls.ListNamespaces).toBe(2 * n);
    expect(calls.ListServices).toBe(2 * 10 * n);
  });

  it("retries throttled calls with the SDK's retry and still publishes everything", async () => {
    emulator.faults.set("DiscoverInstances", { errorCount: 3, error: "ThrottlingException" });
    emulator.faults.set("ListServices", { errorCount: 1, error: "ServiceUnavailable" });
    sidecar = await startSidecar();
    await waitFor("all targets", async () => ((await readTargets()).length === EXPECTED_TARGETS ? true : undefined));
    const attempts = await metric('cloudmap_sd_aws_request_attempts_total{operation="DiscoverInstances",outcome="ThrottlingException"}');
    expect(attempts[0]).toMatch(/ 3$/);
  });

  it("keeps an existing file through a restart during an outage, then replaces it once discovery is complete", async () => {
    const previous = '[\n{"targets":["10.9.9.9:8080"],"labels":{"namespace":"synthetic-0"}}\n]\n';
    await writeFile(targetsPath(), previous);
    emulator.faults.set("ListServices", { errorRate: 1, error: "ServiceUnavailable" });
    sidecar = await startSidecar({ AWS_MAX_ATTEMPTS: "1" });
    const failures = async () => (await metric('cloudmap_sd_file_writes_total{file="targets",outcome="held"}'))[0];
    await waitFor("two held cycles", async () => ((await failures())?.match(/ ([2-9]|\d\d+)$/) ? true : undefined));
    expect(await readFile(targetsPath(), "utf8")).toBe(previous);
    expect((await fetch(`${sidecar.url}/ready`)).status).toBe(503);
    expect(await (await fetch(`${sidecar.url}/prometheus-targets`)).text()).toBe(previous);

    emulator.faults.clear();
    await waitFor("all targets", async () => ((await readTargets()).length === EXPECTED_TARGETS ? true : undefined));
    expect((await fetch(`${sidecar.url}/ready`)).status).toBe(200);
  });
});
