import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { EcsTaskDefinition, ServiceSnapshot, TargetGroup } from "../../src/core/model.js";
import { textOf } from "../../src/core/file-content.js";
import { encodeLines, frameLines, renderGroupLine, renderLines, renderTargetGroups } from "../../src/core/render.js";
import { buildTargetGroups } from "../../src/core/target-groups.js";

describe("renderTargetGroups", () => {
  const groups: TargetGroup[] = [
    { targets: ["10.0.1.5:8080"], labels: { taskid: "t1", __metrics_path__: "/metrics", cluster: "prod", __meta_cloudmap_endpoint: "app" } },
    { targets: ["10.0.1.6:9779"], labels: { namespace: "prod.local", __metrics_path__: "/ecs-metrics", __meta_cloudmap_endpoint: "ecs" } },
  ];

  it("renders no groups as an empty JSON array with a final newline", () => {
    expect(renderTargetGroups([])).toBe("[]\n");
  });

  it("parses back to the same groups", () => {
    expect(JSON.parse(renderTargetGroups(groups))).toEqual(groups);
  });

  it("writes one group per line, ending with a newline", () => {
    const lines = renderTargetGroups(groups).split("\n");

    expect(lines).toHaveLength(groups.length + 3);
    expect(lines[0]).toBe("[");
    expect(lines.at(-2)).toBe("]");
    expect(lines.at(-1)).toBe("");
  });

  it("sorts label names", () => {
    const parsed = JSON.parse(renderTargetGroups(groups)) as TargetGroup[];

    for (const group of parsed) {
      const names = Object.keys(group.labels);
      expect(names).toEqual([...names].sort());
    }
    expect(Object.keys(parsed[0]?.labels ?? {})).toEqual(["__meta_cloudmap_endpoint", "__metrics_path__", "cluster", "taskid"]);
  });

  it("emits only targets and labels (Prometheus' file SD rejects unknown fields)", () => {
    const withExtra = [{ ...groups[0], source: "srv-web", skipped: [] } as unknown as TargetGroup];

    const parsed = JSON.parse(renderTargetGroups(withExtra)) as Array<Record<string, unknown>>;

    expect(Object.keys(parsed[0] ?? {})).toEqual(["targets", "labels"]);
  });

  it("gives byte-identical output for equal groups whatever the label insertion order", () => {
    // Prepare
    const reversed = groups.map((group) => ({
      targets: [...group.targets],
      labels: Object.fromEntries(Object.entries(group.labels).reverse()),
    }));

    // Act
    const first = renderTargetGroups(groups);
    const second = renderTargetGroups(reversed);

    // Assess
    expect(second).toBe(first);
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
  });

  it("escapes label values so the file stays valid JSON", () => {
    const tricky: TargetGroup[] = [{ targets: ["10.0.1.5:80"], labels: { __meta_cloudmap_tag_note: 'quote " backslash \\ newline \n tab \t ünï' } }];

    expect(JSON.parse(renderTargetGroups(tricky))).toEqual(tricky);
  });
});

describe("frameLines (the file as chunks)", () => {
  const lines = [
    '{"targets":["10.0.1.5:8080"],"labels":{"a":"ünï 😀 \\uFF01"}}',
    '{"targets":["10.0.1.6:9779"],"labels":{}}',
    '{"targets":["[::1]:80"],"labels":{"b":"x"}}',
  ];

  it.each([0, 1, 3])("gives the bytes of renderLines, in more than one chunk, for %i lines", (count) => {
    // Act
    const content = frameLines(encodeLines(lines.slice(0, count)));

    // Assess
    const expected = Buffer.from(renderLines(lines.slice(0, count)), "utf8");
    expect(Buffer.concat(content.chunks).equals(expected)).toBe(true);
    expect(content.byteLength).toBe(expected.length);
    if (count > 0) expect(content.chunks.length).toBe(2 * count + 1);
  });

  it("encodes a service's lines as views of one buffer, each exactly its line", () => {
    const encoded = encodeLines(lines);

    expect(encoded.map((line) => Buffer.from(line).toString("utf8"))).toEqual(lines);
    expect(new Set(encoded.map((line) => line.buffer)).size).toBe(1);
  });

  it("renders the golden estate to the same bytes as the string rendering", () => {
    const { groups } = buildTargetGroups(goldenEstate(), { dropStoppedTasks: true });

    const content = frameLines(encodeLines(groups.map(renderGroupLine)));

    expect(textOf(content)).toBe(readFileSync(new URL("./__golden__/ecs-services.json", import.meta.url), "utf8"));
  });
});

// The whole pipeline (snapshots → target groups → bytes) against a reviewed file. When the output
// changes on purpose, regenerate and review the diff:
//   UPDATE_GOLDEN=1 npx vitest run test/core/render.test.ts
describe("golden file", () => {
  const goldenUrl = new URL("./__golden__/ecs-services.json", import.meta.url);

  it("renders a realistic estate to exactly __golden__/ecs-services.json", () => {
    // Act
    const rendered = renderTargetGroups(buildTargetGroups(goldenEstate(), { dropStoppedTasks: true }).groups);

    // Assess
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(goldenUrl, rendered);
    expect(existsSync(goldenUrl), "golden file missing: run with UPDATE_GOLDEN=1 and review it").toBe(true);
    expect(rendered).toBe(readFileSync(goldenUrl, "utf8"));
  });
});

/**
 * Written out in full (not built from shared fixtures) so that changing a test helper cannot move
 * the golden file. Two namespaces: a DNS one with a tagged service carrying the ECS endpoint, an
 * HTTP (Service Connect) one with an untagged service scraped through docker labels, a stopped
 * task, an instance without an IP and a service with an invalid tag.
 */
function goldenEstate(): ServiceSnapshot[] {
  const prod = { id: "ns-prodaaaaaaaaaaaa", name: "prod.local", type: "DNS_PRIVATE", httpName: "prod.local" };
  const connect = { id: "ns-connectbbbbbbbbb", name: "connect", type: "HTTP", httpName: "connect" };
  const arn = (kind: string, rest: string) => `arn:aws:${kind}:eu-west-1:123456789012:${rest}`;
  const ecsAttributes = (ip: string, port: string, service: string) => ({
    AWS_INSTANCE_IPV4: ip,
    AWS_INSTANCE_PORT: port,
    AVAILABILITY_ZONE: "eu-west-1a",
    AWS_INIT_HEALTH_STATUS: "HEALTHY",
    ECS_CLUSTER_NAME: "prod",
    ECS_SERVICE_NAME: service,
    ECS_TASK_DEFINITION_FAMILY: service,
    REGION: "eu-west-1",
  });
  const ordersDefinition: EcsTaskDefinition = {
    arn: arn("ecs", "task-definition/orders:12"),
    family: "orders",
    revision: 12,
    containers: [
      { name: "orders", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "8080", PROMETHEUS_EXPORTER_PATH: "/actuator/prometheus" } },
      { name: "envoy", dockerLabels: {} },
      { name: "statsd-exporter", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9102", PROMETHEUS_EXPORTER_JOB_NAME: "statsd" } },
    ],
  };
  const ordersTask = (id: string, az: string, lastStatus: string) => ({
    taskArn: arn("ecs", `task/prod/${id}`),
    clusterArn: arn("ecs", "cluster/prod"),
    taskDefinitionArn: ordersDefinition.arn,
    launchType: "FARGATE",
    availabilityZone: az,
    group: "service:orders",
    lastStatus,
    desiredStatus: lastStatus === "RUNNING" ? "RUNNING" : "STOPPED",
    healthStatus: "HEALTHY",
    tags: { "aws:ecs:serviceName": "orders", team: "checkout" },
  });
  return [
    {
      service: { id: "srv-webaaaaaaaaaaaa", arn: arn("servicediscovery", "service/srv-webaaaaaaaaaaaa"), name: "web", namespace: prod },
      tags: { METRICS_PATH: "/metrics", ECS_METRICS_PATH: "/metrics", ECS_METRICS_PORT: "9779", "aws:cloudformation:stack-name": "web" },
      instances: [
        { id: "0f3b9c1e2d4a4b5c8d7e6f5a4b3c2d1e", attributes: ecsAttributes("10.0.2.17", "3000", "web"), healthStatus: "HEALTHY" },
        { id: "7a6b5c4d3e2f4a1b9c8d7e6f5a4b3c2d", attributes: ecsAttributes("10.0.1.23", "3000", "web"), healthStatus: "UNHEALTHY" },
        { id: "9999aaaabbbbccccddddeeeeffff0000", attributes: { AWS_INSTANCE_PORT: "3000", ECS_SERVICE_NAME: "web" }, healthStatus: "HEALTHY" },
      ],
    },
    {
      service: { id: "srv-apibbbbbbbbbbbb", arn: arn("servicediscovery", "service/srv-apibbbbbbbbbbbb"), name: "api", namespace: prod },
      tags: { METRICS_PORT: "not-a-port" },
      instances: [{ id: "1234", attributes: ecsAttributes("10.0.3.3", "8080", "api"), healthStatus: "HEALTHY" }],
    },
    {
      service: { id: "srv-orderscccccccc", arn: arn("servicediscovery", "service/srv-orderscccccccc"), name: "orders", namespace: connect },
      tags: {},
      instances: [
        { id: "a1b2c3d4e5f60718293a4b5c6d7e8f90", attributes: ecsAttributes("10.0.4.8", "8080", "orders") },
        { id: "b1b2c3d4e5f60718293a4b5c6d7e8f90", attributes: ecsAttributes("10.0.5.9", "8080", "orders") },
      ],
      ecsTasks: new Map([
        ["a1b2c3d4e5f60718293a4b5c6d7e8f90", ordersTask("a1b2c3d4e5f60718293a4b5c6d7e8f90", "eu-west-1a", "RUNNING")],
        ["b1b2c3d4e5f60718293a4b5c6d7e8f90", ordersTask("b1b2c3d4e5f60718293a4b5c6d7e8f90", "eu-west-1b", "STOPPED")],
      ]),
      ecsTaskDefinitions: new Map([[ordersDefinition.arn, ordersDefinition]]),
    },
  ];
}
