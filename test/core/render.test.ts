import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { EcsTaskDefinition, ServiceSnapshot, TargetGroup } from "../../src/core/model.js";
import { chunkText, copyChunk } from "../../src/core/compact-line.js";
import { textOf } from "../../src/core/file-content.js";
import { frameLines, renderCompactLines, renderGroupLine, renderLines, renderTargetGroups } from "../../src/core/render.js";
import { buildTargetGroups } from "../../src/core/target-groups.js";
import { mulberry32 } from "../../dev/emulator/control/faults.js";

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
  const groups: TargetGroup[] = [
    { targets: ["10.0.1.5:8080"], labels: { a: "ünï 😀 \\uFF01" } },
    { targets: ["10.0.1.6:9779"], labels: {} },
    { targets: ["[::1]:80"], labels: { b: "x" } },
  ];

  it.each([0, 1, 3])("gives the bytes of renderLines, in more than one chunk, for %i lines", (count) => {
    // Act
    const content = frameLines(renderCompactLines(groups.slice(0, count)));

    // Assess
    const expected = Buffer.from(renderLines(groups.slice(0, count).map(renderGroupLine)), "utf8");
    expect(Buffer.from(textOf(content), "utf8").equals(expected)).toBe(true);
    expect(content.byteLength).toBe(expected.length);
    if (count > 0) expect(content.chunks.length).toBe(2 * count + 1);
  });

  it("keeps a service's lines in one buffer, each exactly its line", () => {
    const lines = renderCompactLines(groups);

    expect(lines.map(chunkText)).toEqual(groups.map(renderGroupLine));
    expect(new Set(lines.map((line) => line.bytes)).size).toBe(1);
  });

  it("renders the golden estate to the same bytes as the string rendering", () => {
    const { groups } = buildTargetGroups(goldenEstate(), { dropStoppedTasks: true });

    const content = frameLines(renderCompactLines(groups));

    expect(textOf(content)).toBe(readFileSync(new URL("./__golden__/ecs-services.json", import.meta.url), "utf8"));
  });
});

/** Strings JSON escapes, or encodes in 2, 3 and 4 UTF-8 bytes, or that share prefixes with each other. */
const TRICKY = [
  "",
  "a",
  '"',
  "\\",
  '\\"quoted\\"',
  "\n\r\t\b\f",
  "\u0000\u0001\u001f\u007f",
  "line\u2028para\u2029",
  "\ud800",
  "lone \udc00 low",
  "x\ud83d",
  "x\ud83dy",
  "x\ud83d\ude00",
  "x\ud83d\ude01",
  "x\ud83e\udd80",
  "é",
  "ü€",
  "\uFF01",
  "😀😁",
  "</script>",
  "arn:aws:ecs:eu-west-1:123456789012:task/prod/0f3b9c1e2d4a4b5c8d7e6f5a4b3c2d1e",
  "arn:aws:ecs:eu-west-1:123456789012:task/prod/7a6b5c4d3e2f4a1b9c8d7e6f5a4b3c2d",
  "arn:aws:ecs:eu-west-1:123456789012:task/prod/",
  "10.0.1.5",
  "10.0.1.57",
  "x".repeat(200),
  "y".repeat(20_000),
];

/** Label names: sorted as strings, except integer-like ones, which JavaScript objects list first. */
const NAMES = ["__meta_a", "__meta_b", "__metrics_path__", "ü", "a\"b", "", "z", "10", "2", "01", "4294967295", "__proto__", "job"];


/**
 * One service's groups: shared labels, and per instance some changed, dropped and added ones, and
 * various targets. Labels are made with Object.fromEntries, so "__proto__" is an own label.
 */
function serviceGroups(seed: number): TargetGroup[] {
  const next = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const value = () => (next() < 0.7 ? pick(TRICKY) : `${pick(TRICKY)}${pick(TRICKY)}`);
  const shared = Object.fromEntries(NAMES.filter(() => next() < 0.6).map((name) => [name, value()]));
  return Array.from({ length: 1 + Math.floor(next() * 8) }, () => {
    const labels = Object.entries(shared).flatMap(([name, v]) => {
      const roll = next();
      return roll < 0.1 ? [] : roll < 0.3 ? [[name, value()]] : [[name, v]];
    });
    if (next() < 0.3) labels.push([pick(NAMES), value()]);
    const targets = Array.from({ length: Math.floor(next() * 3) }, () => (next() < 0.8 ? `10.0.${Math.floor(next() * 3)}.5:8080` : value()));
    return { targets, labels: Object.fromEntries(labels) as Record<string, string> };
  });
}

function decodedBytes(line: Parameters<typeof chunkText>[0]): Buffer {
  const bytes = Buffer.alloc(line.length);
  copyChunk(line, 0, line.length, bytes, 0);
  return bytes;
}

describe("renderCompactLines", () => {
  it("is what JSON.stringify writes: targets, then the sorted labels' pieces joined by commas", () => {
    // The structure renderCompactLines builds lines from, held against the reference rendering.
    for (let seed = 1; seed <= 300; seed++) {
      for (const group of serviceGroups(seed)) {
        const names = Object.keys(group.labels).sort();
        if (names.some((name) => /^\d/.test(name) || name === "__proto__")) continue;
        const pieces = names.map((name) => `${JSON.stringify(name)}:${JSON.stringify(group.labels[name])}`);
        expect(renderGroupLine(group)).toBe(`{"targets":${JSON.stringify(group.targets)},"labels":{${pieces.join(",")}}}`);
      }
    }
  });

  it("decodes to exactly renderGroupLine's bytes, over seeded random services of tricky strings", () => {
    for (let seed = 1; seed <= 500; seed++) {
      // Prepare
      const groups = serviceGroups(seed);

      // Act
      const lines = renderCompactLines(groups);

      // Assess
      expect(lines).toHaveLength(groups.length);
      groups.forEach((group, i) => {
        const expected = Buffer.from(renderGroupLine(group), "utf8");
        const line = lines[i] as (typeof lines)[number];
        expect(line.length, `seed ${seed}, line ${i}`).toBe(expected.length);
        expect(decodedBytes(line).equals(expected), `seed ${seed}, line ${i}: ${renderGroupLine(group)}`).toBe(true);
      });
      expect(textOf(frameLines(lines)), `seed ${seed}`).toBe(renderTargetGroups(groups));
    }
  });

  it("orders integer-like label names first and leaves out __proto__, as JSON.stringify does", () => {
    const groups: TargetGroup[] = [
      { targets: ["a:1"], labels: Object.fromEntries([["b", "1"], ["10", "x"], ["2", "y"], ["__proto__", "p"], ["01", "z"]]) },
      { targets: ["a:2"], labels: Object.fromEntries([["10", "x"], ["b", "2"], ["__proto__", "q"], ["4294967295", "big"]]) },
    ];

    expect(renderCompactLines(groups).map(chunkText)).toEqual(groups.map(renderGroupLine));
    expect(renderGroupLine(groups[0] as TargetGroup)).toBe('{"targets":["a:1"],"labels":{"2":"y","10":"x","01":"z","b":"1"}}');
  });

  it("writes values that are not strings as JSON.stringify does (null and numbers bare, undefined left out)", () => {
    // Labels are strings by type; a malformed answer that slipped past the AWS edge must still give
    // valid JSON, equal to the reference rendering, never a line cut at a quote it assumed.
    const odd = (value: unknown) => value as string;
    const groups: TargetGroup[] = [
      { targets: ["a:1"], labels: { a: "v", b: odd(null), c: odd(5), d: "same", e: odd(undefined), f: "w" } },
      { targets: ["a:2"], labels: { a: odd(null), b: "v", c: odd(7), d: "same", e: "now", f: odd(undefined) } },
      { targets: ["a:3"], labels: { a: odd(5), b: odd(null), c: odd(5), d: "same", e: odd(undefined), f: "w" } },
      { targets: ["a:4"], labels: { a: "vv", b: odd(Number.NaN), c: odd(undefined), d: odd(null), e: "x", f: "w" } },
    ];

    const lines = renderCompactLines(groups).map(chunkText);
    expect(lines).toEqual(groups.map(renderGroupLine));
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    const template: TargetGroup[] = [{ targets: ["a:1"], labels: { a: odd(undefined), b: "x" } }, { targets: ["a:2"], labels: { a: "y", b: "x" } }];
    expect(renderCompactLines(template).map(chunkText)).toEqual(template.map(renderGroupLine));
  });

  it("renders empty labels and empty targets", () => {
    const groups: TargetGroup[] = [
      { targets: [], labels: {} },
      { targets: ["a:1"], labels: { x: "1" } },
      { targets: [], labels: {} },
    ];

    expect(renderCompactLines(groups).map(chunkText)).toEqual(groups.map(renderGroupLine));
    expect(renderCompactLines([])).toEqual([]);
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
