/**
 * One cloudmap-sd in a monitoring account discovering two workload accounts, with the real AWS
 * SDK clients against the emulator: namespaces shared through AWS RAM (ARN-only access,
 * OwnerAccount), service attributes where tags cannot be read, a name two accounts carry, a role
 * assumed per account for ECS (one of them denied), and bridge-mode tasks reached on host ports.
 *
 * Cycles are driven by the test (createSidecar, then discovery.runCycle) on a ManualClock.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Emulator, startEmulator, type TopologyInput } from "../../dev/emulator/index.js";
import { ManualClock } from "../../src/clock.js";
import { loadConfig } from "../../src/config.js";
import { Label } from "../../src/core/labels.js";
import { createSidecar, type Sidecar } from "../../src/main.js";
import type { CycleReport } from "../../src/runtime/discovery-cycle.js";

process.env.AWS_REGION = "us-east-1";
// Not in the topology's accessKeys: the emulator takes the caller for its default account, the monitoring one.
process.env.AWS_ACCESS_KEY_ID = "AKIDMONITORING";
process.env.AWS_SECRET_ACCESS_KEY = "integration-secret";
process.env.AWS_EC2_METADATA_DISABLED = "true";

const MONITORING = "111111111111";
const SHOP = "222222222222";
const PAY = "333333333333";
const ROLE = "cloudmap-sd-ecs-reader";
const roleArn = (account: string) => `arn:aws:iam::${account}:role/${ROLE}`;
const INTERVAL_SECONDS = 30;

interface Group {
  targets: string[];
  labels: Record<string, string>;
}

const ecsInstance = (ip: string, port: string, service: string, family: string) => ({
  AWS_INSTANCE_IPV4: ip,
  AWS_INSTANCE_PORT: port,
  ECS_CLUSTER_NAME: "prod",
  ECS_SERVICE_NAME: service,
  ECS_TASK_DEFINITION_FAMILY: family,
});
const taskId = (seed: string) => seed.padEnd(32, "0");
/** A task as the emulator's putTask takes it (every default spelled out). */
const task = (account: string, id: string, taskDefinition: string, ip: string) => ({
  account,
  cluster: "prod",
  taskId: taskId(id),
  taskDefinition,
  launchType: "FARGATE" as const,
  lastStatus: "RUNNING",
  desiredStatus: "RUNNING",
  healthStatus: "UNKNOWN" as const,
  privateIpv4Address: ip,
  tags: {},
});

/**
 * SHOP owns shop.local (tags readable by consumers) and a common.local; PAY owns pay.local (tags
 * not readable by consumers: service attributes and docker labels decide). Both share with the
 * monitoring account, which also owns a common.local and ops.local. Both workload accounts run a
 * cluster named "prod": the same name in two accounts is two clusters.
 */
function topology(): TopologyInput {
  return {
    accountId: MONITORING,
    roles: [{ arn: roleArn(SHOP) }, { arn: roleArn(PAY) }],
    namespaces: [
      {
        name: "ops.local",
        services: [{ name: "grafana", tags: { METRICS_PATH: "/metrics" }, instances: [{ id: "grafana-1", attributes: { AWS_INSTANCE_IPV4: "10.1.0.5", AWS_INSTANCE_PORT: "3000" } }] }],
      },
      { name: "common.local", services: [{ name: "mine", tags: { METRICS_PATH: "/metrics" }, instances: [{ id: "m-1", attributes: { AWS_INSTANCE_IPV4: "10.1.0.9" } }] }] },
      {
        name: "shop.local",
        owner: SHOP,
        sharedWith: [MONITORING],
        consumersReadTags: true,
        services: [
          {
            name: "web",
            tags: { METRICS_PATH: "/metrics", METRICS_PORT: "9100" },
            instances: [{ id: taskId("shopweb1"), attributes: ecsInstance("10.2.0.11", "8080", "web", "Web") }],
          },
        ],
      },
      {
        name: "common.local",
        owner: SHOP,
        sharedWith: [MONITORING],
        consumersReadTags: true,
        services: [{ name: "theirs", tags: { METRICS_PATH: "/metrics" }, instances: [{ id: "t-1", attributes: { AWS_INSTANCE_IPV4: "10.2.0.99" } }] }],
      },
      {
        name: "pay.local",
        owner: PAY,
        sharedWith: [MONITORING],
        services: [
          {
            // Tags say 1111, attributes say 9100: the consumer cannot read the tags, so attributes decide.
            name: "api",
            tags: { METRICS_PORT: "1111" },
            attributes: { METRICS_PATH: "/internal/metrics", METRICS_PORT: "9100" },
            instances: [{ id: taskId("payapi1"), attributes: ecsInstance("10.3.0.21", "8080", "api", "Api") }],
          },
          {
            // Bridge mode on EC2: Cloud Map has the host's address and the host port ECS bound.
            name: "worker",
            instances: [
              { id: taskId("paywrk1"), attributes: ecsInstance("10.3.0.10", "32768", "worker", "Worker") },
              { id: taskId("paywrk2"), attributes: ecsInstance("10.3.0.12", "32770", "worker", "Worker") },
            ],
          },
        ],
      },
    ],
    ecs: {
      taskDefinitions: [
        { account: SHOP, family: "Web", containerDefinitions: [{ name: "web", portMappings: [{ containerPort: 8080 }] }] },
        { account: PAY, family: "Api", containerDefinitions: [{ name: "api", portMappings: [{ containerPort: 8080 }] }] },
        {
          account: PAY,
          family: "Worker",
          networkMode: "bridge",
          containerDefinitions: [
            { name: "worker", portMappings: [{ containerPort: 9404, hostPort: 0 }], dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9404" } },
            // Labelled, but its port is not published on the host: a skip, not a target.
            { name: "sidecar", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9999" } },
          ],
        },
      ],
      tasks: [
        { account: SHOP, cluster: "prod", taskId: taskId("shopweb1"), taskDefinition: "Web:1", privateIpv4Address: "10.2.0.11" },
        { account: PAY, cluster: "prod", taskId: taskId("payapi1"), taskDefinition: "Api:1", privateIpv4Address: "10.3.0.21" },
        { account: PAY, cluster: "prod", taskId: taskId("paywrk1"), taskDefinition: "Worker:1", launchType: "EC2", hostPorts: { "9404": 32768 } },
        { account: PAY, cluster: "prod", taskId: taskId("paywrk2"), taskDefinition: "Worker:1", launchType: "EC2", hostPorts: { "9404": 32770 } },
      ],
    },
  };
}

describe("one cloudmap-sd in a monitoring account, two workload accounts", () => {
  let emulator: Emulator;
  let dir: string;
  let clock: ManualClock;
  let sidecar: Sidecar | undefined;
  let commonArnOfShop: string;

  const readTargets = async () => JSON.parse(await readFile(join(dir, "ecs-services.json"), "utf8")) as Group[];
  const byTarget = (groups: Group[], target: string) => groups.filter((group) => group.targets.includes(target));
  const create = async (names: string, extra: Record<string, string> = {}) => {
    emulator.state.putParameter("ECS-ServiceDiscovery-Namespaces", names);
    process.env.AWS_ENDPOINT_URL = emulator.url;
    sidecar = await createSidecar(
      loadConfig({
        CONFIG_FILE_DIR: dir,
        CONFIG_RELOAD_FREQUENCY: String(INTERVAL_SECONDS),
        LOG_LEVEL: "silent",
        AWS_ENDPOINT_URL: emulator.url,
        ECS_ASSUME_ROLE: ROLE,
        ...extra,
      }),
      { clock },
    );
    return sidecar;
  };
  const runCycle = async (subject: Sidecar): Promise<CycleReport> => {
    const report = await subject.discovery.runCycle(new AbortController().signal);
    clock.advance(INTERVAL_SECONDS * 1000);
    return report;
  };
  const metric = async (subject: Sidecar, prefix: string) =>
    (await subject.metrics.registry.metrics()).split("\n").filter((line) => line.startsWith(prefix));

  beforeAll(async () => {
    emulator = await startEmulator({ topology: topology(), pageSize: 1 });
    const shared = [...emulator.state.namespaces()].find((ns) => ns.name === "common.local" && ns.owner === SHOP);
    commonArnOfShop = shared?.arn ?? "";
  });
  afterAll(() => emulator.close());
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "cloudmap-sd-accounts-"));
    clock = new ManualClock();
    emulator.calls.reset();
    for (const account of [SHOP, PAY]) emulator.state.putRole({ arn: roleArn(account) });
  });
  afterEach(async () => {
    sidecar?.destroy();
    sidecar = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it("discovers both workload accounts' shared namespaces, with account labels and each account's ECS facts", async () => {
    // Prepare
    const subject = await create("ops.local,shop.local,pay.local");

    // Act
    const report = await runCycle(subject);

    // Assess
    expect(report).toMatchObject({ outcome: "success", errors: 0 });
    const groups = await readTargets();
    const [web] = byTarget(groups, "10.2.0.11:9100");
    expect(web?.labels).toMatchObject({
      [Label.namespaceOwner]: SHOP,
      [Label.serviceCreatorAccount]: SHOP,
      [Label.region]: "us-east-1",
      [Label.ecsTaskArn]: `arn:aws:ecs:us-east-1:${SHOP}:task/prod/${taskId("shopweb1")}`,
    });
    // The monitoring account's own namespace: no account labels, as in a single-account estate.
    const [grafana] = byTarget(groups, "10.1.0.5:3000");
    expect(grafana?.labels).toBeDefined();
    expect(Object.keys(grafana?.labels ?? {}).filter((name) => name.startsWith("__meta_cloudmap_namespace_owner"))).toEqual([]);
    expect(grafana?.labels[Label.region]).toBeUndefined();
    // pay.local's tags are not readable by the consumer: its service attributes decide.
    const [api] = byTarget(groups, "10.3.0.21:9100");
    expect(api?.labels).toMatchObject({ [Label.metricsPath]: "/internal/metrics", [Label.namespaceOwner]: PAY });
    expect(byTarget(groups, "10.3.0.21:1111")).toEqual([]);
    // Each account's role was assumed once (the SDK keeps the session), and AssumeRole went to the emulator.
    expect(emulator.calls.get("AssumeRole")).toBe(2);
    expect(await metric(subject, `cloudmap_sd_assume_role_total{account="${PAY}",outcome="success"}`)).toEqual([expect.stringMatching(/ 1$/)]);
    expect(await metric(subject, 'cloudmap_sd_services_tags_unreadable{channel="service_attributes"}')).toEqual([expect.stringMatching(/ 1$/)]);
  });

  it("scrapes bridge-mode tasks on the host port ECS bound, and skips a labelled port that is not published", async () => {
    // Prepare
    const subject = await create("pay.local");

    // Act
    await runCycle(subject);

    // Assess: each task's container port 9404 is reached on the host port ECS bound it to, at the host's address.
    const groups = await readTargets();
    const workers = groups.filter((group) => group.labels[Label.serviceName] === "worker");
    expect(workers.map((group) => group.targets[0]).sort()).toEqual(["10.3.0.10:32768", "10.3.0.12:32770"]);
    expect(workers.every((group) => group.labels[Label.endpoint] === "docker_label")).toBe(true);
    expect(await metric(subject, 'cloudmap_sd_skipped_endpoints{reason="no_host_port"}')).toEqual([expect.stringMatching(/ 2$/)]);
  });

  it("reads the own account's namespace for a name two accounts carry (counted, with the ARNs), and the other one listed by ARN", async () => {
    // Prepare
    const subject = await create(`common.local,${commonArnOfShop}`);

    // Act
    const report = await runCycle(subject);

    // Assess
    expect(report.outcome).toBe("success");
    const groups = await readTargets();
    expect(groups.map((group) => group.targets[0]).sort()).toEqual(["10.1.0.9:80", "10.2.0.99:80"]);
    expect(groups.find((group) => group.targets[0] === "10.2.0.99:80")?.labels[Label.namespaceOwner]).toBe(SHOP);
    expect(await metric(subject, "cloudmap_sd_ambiguous_namespaces ")).toEqual(["cloudmap_sd_ambiguous_namespaces 1"]);
  });

  it("keeps the other account's targets and the denied account's last-known-good ECS data when one role is denied", async () => {
    // Prepare: short sessions, so that the SDK assumes the role again before each call and meets a
    // denial in the next cycle (a real session lasts an hour). A first cycle with both roles working.
    for (const account of [SHOP, PAY]) emulator.state.putRole({ arn: roleArn(account), sessionSeconds: 60 });
    const subject = await create("shop.local,pay.local");
    expect((await runCycle(subject)).outcome).toBe("success");
    emulator.state.setRoleDenied(roleArn(PAY), true);
    // A new task in each account: PAY's cannot be described any more, SHOP's can.
    emulator.state.putTask(task(SHOP, "shopweb2", "Web:1", "10.2.0.12"));
    emulator.state.registerInstance("shop.local", "web", { id: taskId("shopweb2"), attributes: ecsInstance("10.2.0.12", "8080", "web", "Web") });
    emulator.state.putTask(task(PAY, "payapi2", "Api:1", "10.3.0.22"));
    emulator.state.registerInstance("pay.local", "api", { id: taskId("payapi2"), attributes: ecsInstance("10.3.0.22", "8080", "api", "Api") });

    // Act
    const report = await runCycle(subject);

    // Assess: partial, and published: SHOP's new task is enriched; PAY's new task is a target without
    // ECS facts; PAY's known tasks keep theirs (described before the denial), bridge workers included.
    expect(report).toMatchObject({ outcome: "partial", file: "written" });
    const groups = await readTargets();
    expect(byTarget(groups, "10.2.0.12:9100")[0]?.labels[Label.ecsTaskArn]).toContain(SHOP);
    expect(byTarget(groups, "10.3.0.22:9100")).toHaveLength(1);
    expect(byTarget(groups, "10.3.0.22:9100")[0]?.labels[Label.ecsTaskArn]).toBeUndefined();
    expect(byTarget(groups, "10.3.0.21:9100")[0]?.labels[Label.ecsTaskArn]).toContain(PAY);
    expect(groups.filter((group) => group.labels[Label.serviceName] === "worker")).toHaveLength(2);
    expect(await metric(subject, `cloudmap_sd_assume_role_total{account="${PAY}",outcome="AccessDenied"}`)).toEqual([expect.stringMatching(/ [1-9]\d*$/)]);
    expect(await metric(subject, 'cloudmap_sd_aws_failures_total{operation="DescribeTasks",kind="access_denied"}')).toEqual([expect.stringMatching(/ 1$/)]);
  });

  it("discovers the emulator's sample topology, whose third namespace a workload account shares", async () => {
    // Prepare
    const sample = await startEmulator({ topology: fileURLToPath(new URL("../../dev/emulator/sample-topology.yaml", import.meta.url)) });
    try {
      process.env.AWS_ENDPOINT_URL = sample.url;
      sidecar = await createSidecar(
        loadConfig({ CONFIG_FILE_DIR: dir, LOG_LEVEL: "silent", AWS_ENDPOINT_URL: sample.url, ECS_ASSUME_ROLE: "cloudmap-sd-ecs-reader" }),
        { clock },
      );

      // Act
      const report = await runCycle(sidecar);

      // Assess
      expect(report).toMatchObject({ outcome: "success", errors: 0 });
      const [inventory] = byTarget(await readTargets(), "10.20.1.15:9100");
      expect(inventory?.labels).toMatchObject({ [Label.namespaceOwner]: "210987654321", [Label.ecsTaskArn]: expect.stringContaining(":210987654321:task/workload/") });
    } finally {
      sidecar?.destroy();
      sidecar = undefined;
      await sample.close();
    }
  });
});
