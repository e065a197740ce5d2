import { describe, expect, it } from "vitest";
import { textOf } from "../../src/core/file-content.js";
import { renderTargetGroups } from "../../src/core/render.js";
import { buildTargetGroups, targetKey } from "../../src/core/target-groups.js";
import { TargetSetBuilder } from "../../src/core/target-set.js";
import { ecsTask, instance, namespace, shuffled, snapshot } from "../helpers/fixtures.js";
import { syntheticSnapshots } from "../helpers/synthetic-snapshots.js";
import { CompactLine } from "../../src/core/compact-line.js";

const dns = namespace();
const http = namespace({ id: "ns-http", name: "connect", type: "HTTP", httpName: "connect" });

function estate() {
  return [
    snapshot({ serviceName: "web", instances: [instance("t1", { AWS_INSTANCE_IPV4: "10.0.0.1" }), instance("t2", { AWS_INSTANCE_IPV4: "10.0.0.2" })] }),
    snapshot({
      serviceName: "orders",
      tags: { METRICS_PORT: "9000", ECS_METRICS_PATH: "/stats", ECS_METRICS_PORT: "9901" },
      instances: [instance("t3", { AWS_INSTANCE_IPV4: "10.0.0.3" })],
      ecsTasks: [ecsTask("t3")],
    }),
    snapshot({ serviceName: "bad", tags: { METRICS_PORT: "abc" } }),
    snapshot({ serviceName: "api", namespace: http, instances: [instance("t4", { AWS_INSTANCE_IPV4: "10.0.0.1" })] }),
  ];
}

describe("TargetSetBuilder", () => {
  it("renders byte-identically to buildTargetGroups + renderTargetGroups, whatever the input order", () => {
    // Prepare
    const snapshots = estate();
    const expected = renderTargetGroups(buildTargetGroups(snapshots).groups);

    // Act
    const set = new TargetSetBuilder().build(shuffled(snapshots, 7));

    // Assess
    expect(textOf(set.content)).toBe(expected);
    expect(set.content.byteLength).toBe(Buffer.byteLength(expected));
    expect(set.keys).toEqual(buildTargetGroups(snapshots).groups.map(targetKey));
    expect(set.perNamespace).toEqual(new Map([[dns.name, 4], ["connect", 1]]));
    expect(set.skips.map((s) => s.reason)).toEqual(["invalid_metrics_port"]);
  });

  it("returns the previous result when every snapshot is the same object as last time", () => {
    const builder = new TargetSetBuilder();
    const snapshots = estate();
    const first = builder.build(snapshots);

    expect(builder.build([...snapshots])).toBe(first);
  });

  it("rebuilds a changed service and matches a fresh build", () => {
    // Prepare
    const builder = new TargetSetBuilder();
    const snapshots = estate();
    builder.build(snapshots);
    const changed = [...snapshots];
    changed[0] = snapshot({ serviceName: "web", instances: [instance("t9", { AWS_INSTANCE_IPV4: "10.0.0.9" })] });

    // Act
    const set = builder.build(changed);

    // Assess
    expect(textOf(set.content)).toBe(renderTargetGroups(buildTargetGroups(changed).groups));
    expect(textOf(set.content)).toContain("10.0.0.9:80");
    expect(textOf(set.content)).not.toContain('"taskid":"t1"');
  });

  it("reuses the work of unchanged services: a mutated-in-place snapshot is not rebuilt", () => {
    // Identity is the contract: the fetcher hands out a new object whenever a service changes.
    const builder = new TargetSetBuilder();
    const snapshots = estate();
    const first = builder.build(snapshots);
    const web = snapshots[0] as unknown as { instances: unknown[] };
    web.instances = [];

    const second = builder.build([...snapshots.slice(1), snapshots[0] as (typeof snapshots)[number]]);

    expect(second).not.toBe(first);
    expect(textOf(second.content)).toBe(textOf(first.content));
  });

  it("passes its build options on: with dropStoppedTasks a stopping task is left out, as buildTargetGroups does", () => {
    // Prepare
    const snapshots = [
      snapshot({
        instances: [instance("t1", { AWS_INSTANCE_IPV4: "10.0.0.1" }), instance("t2", { AWS_INSTANCE_IPV4: "10.0.0.2" })],
        ecsTasks: [ecsTask("t1", { lastStatus: "STOPPING" }), ecsTask("t2", { lastStatus: "RUNNING" })],
      }),
    ];

    // Act
    const dropping = new TargetSetBuilder({ dropStoppedTasks: true }).build(snapshots);
    const keeping = new TargetSetBuilder().build(snapshots);

    // Assess
    expect(textOf(dropping.content)).toBe(renderTargetGroups(buildTargetGroups(snapshots, { dropStoppedTasks: true }).groups));
    expect(textOf(dropping.content)).not.toContain("10.0.0.1:");
    expect(dropping.keys).toHaveLength(1);
    expect(dropping.skips.map((skip) => skip.reason)).toEqual(["ecs_task_stopped"]);
    expect(keeping.keys).toHaveLength(2);
    expect(keeping.skips).toEqual([]);
  });

  it("orders two groups with the same target key as the canonical rendering does (by the line as text, not as UTF-8 bytes)", () => {
    // Prepare: one address under two instance ids that differ in a character UTF-16 and UTF-8 order
    // differently: U+FF01 sorts after the surrogates of U+1F600 as text, before it as bytes.
    const snapshots = [snapshot({ instances: [instance("task-\uFF01"), instance("task-\u{1F600}")] })];
    const expected = renderTargetGroups(buildTargetGroups(snapshots).groups);

    // Act
    const set = new TargetSetBuilder().build(snapshots);

    // Assess
    expect(expected.indexOf("\u{1F600}")).toBeLessThan(expected.indexOf("\uFF01"));
    expect(textOf(set.content)).toBe(expected);
  });

  it("keeps the content as chunks that share the lines of unchanged services, never as one string", () => {
    // Prepare
    const builder = new TargetSetBuilder();
    const snapshots = estate();
    const first = builder.build(snapshots);
    const changed = [...snapshots];
    changed[0] = snapshot({ serviceName: "web", instances: [instance("t9", { AWS_INSTANCE_IPV4: "10.0.0.9" })] });

    // Act
    const second = builder.build(changed);

    // Assess: the orders and api lines are the very same bytes (not re-rendered), and so are their chunks.
    const linesOf = (set: typeof first) => new Set(set.content.chunks.filter((_, i) => i % 2 === 1));
    const reused = [...linesOf(second)].filter((line) => linesOf(first).has(line));
    expect(reused).toHaveLength(3);
    for (const line of reused) expect(second.content.chunks).toContain(line);
    expect(second.content.chunks.length).toBe(2 * second.keys.length + 1);
  });

  it("keeps the lines of 10,000 instances in less than a quarter of their bytes, rendering the same file", () => {
    // Prepare: the bench's 10,000-instance estate (500 services of 20 tasks, a fifth with a second endpoint).
    const snapshots = syntheticSnapshots({ namespaces: 5, servicesPerNamespace: 100, instancesPerService: 20, withEcs: true });

    // Act
    const set = new TargetSetBuilder().build(snapshots);

    // Assess: what the lines keep alive is their services' buffers (templates and op streams).
    const buffers = new Set(set.lines.map((line) => (line as CompactLine).bytes.buffer));
    const kept = [...buffers].reduce((sum, buffer) => sum + buffer.byteLength, 0);
    const decoded = set.lines.reduce((sum, line) => sum + line.length, 0);
    expect(set.lines).toHaveLength(12_000);
    expect(set.lines.every((line) => line instanceof CompactLine)).toBe(true);
    expect(buffers.size).toBe(500);
    expect(decoded).toBeGreaterThan(19_000_000);
    expect(kept).toBeLessThan(decoded / 4);
    expect(textOf(set.content)).toBe(renderTargetGroups(buildTargetGroups(snapshots).groups));
  });

  it("renders an estate with no targets as the canonical empty file", () => {
    const set = new TargetSetBuilder().build([]);

    expect(textOf(set.content)).toBe(renderTargetGroups([]));
    expect(set.content.byteLength).toBe(3);
  });
});
