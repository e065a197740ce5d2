import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { textOf } from "../../src/core/file-content.js";
import type { ServiceSnapshot } from "../../src/core/model.js";
import { renderTargetGroups } from "../../src/core/render.js";
import { shardOf } from "../../src/core/shard.js";
import { buildTargetGroups } from "../../src/core/target-groups.js";
import { TargetSetBuilder } from "../../src/core/target-set.js";
import { createHttpServer } from "../../src/http/server.js";
import { Metrics } from "../../src/metrics.js";
import { HealthState } from "../../src/runtime/health.js";
import { Sharding } from "../../src/runtime/sharding.js";
import { instance, memoryLogger, snapshot } from "../helpers/fixtures.js";

/** `services` services of `tasks` tasks each, one target per task. */
function estate(services: number, tasks: number): ServiceSnapshot[] {
  return Array.from({ length: services }, (_, s) =>
    snapshot({
      serviceName: `svc-${s}`,
      instances: Array.from({ length: tasks }, (_, t) => instance(`task-${s}-${t}`, { AWS_INSTANCE_IPV4: `10.0.${s}.${t}` })),
    }),
  );
}

function setup(index: number, count: number) {
  const metrics = new Metrics(new ManualClock(), () => new Map());
  const logged = memoryLogger();
  return { sharding: new Sharding({ index, count }, metrics, logged.logger), metrics, logged };
}

async function shardTargets(metrics: Metrics): Promise<Record<string, number>> {
  const metric = await metrics.shardTargets.get();
  return Object.fromEntries(metric.values.map((v) => [v.labels.shard as string, v.value]));
}

describe("Sharding", () => {
  const snapshots = estate(6, 20);
  const groups = buildTargetGroups(snapshots).groups;

  it("with one shard passes the built targets through: the same objects, the same bytes", () => {
    const { sharding } = setup(0, 1);
    const set = new TargetSetBuilder().build(snapshots);

    const shard = sharding.cut(set);

    expect(shard.content).toBe(set.content);
    expect(shard.keys).toBe(set.keys);
    expect(textOf(shard.content)).toBe(renderTargetGroups(groups));
  });

  it("cuts this sidecar's shard from the builder's lines, and cuts nothing again for the same set", () => {
    const { sharding } = setup(1, 3);
    const set = new TargetSetBuilder().build(snapshots);

    const shard = sharding.cut(set);

    expect(textOf(shard.content)).toBe(renderTargetGroups(groups.filter((g) => shardOf(g, 3) === 1)));
    expect(shard.keys.length).toBeGreaterThan(20);
    expect(shard.keys.length).toBeLessThan(60);
    expect(sharding.cut(set)).toBe(shard);
  });

  it("counts the targets of every shard once published", async () => {
    const { sharding, metrics } = setup(0, 3);
    const set = new TargetSetBuilder().build(snapshots);

    sharding.published(set);

    const counts = await shardTargets(metrics);
    expect(Object.keys(counts).sort()).toEqual(["0", "1", "2"]);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(groups.length);
    for (let shard = 0; shard < 3; shard++) expect(counts[String(shard)]).toBe(groups.filter((g) => shardOf(g, 3) === shard).length);
  });

  it("serves its own shard as the published file, others from the last published set, nothing before", () => {
    const { sharding, logged } = setup(0, 3);
    const set = new TargetSetBuilder().build(snapshots);
    const file = "[]\n";

    expect(sharding.serve({ index: 0, count: 3 }, file)).toBe(file);
    expect(sharding.serve({ index: 1, count: 3 }, file)).toBeUndefined();

    sharding.cut(set);
    expect(sharding.serve({ index: 1, count: 3 }, file), "a built but unpublished set is not served").toBeUndefined();
    sharding.published(set);
    expect(textOf(sharding.serve({ index: 1, count: 3 }, file) ?? "")).toBe(renderTargetGroups(groups.filter((g) => shardOf(g, 3) === 1)));
    expect(textOf(sharding.serve({ index: 0, count: 1 }, file) ?? "")).toBe(renderTargetGroups(groups));
    expect(textOf(sharding.serve({ index: 4, count: 5 }, file) ?? "")).toBe(renderTargetGroups(groups.filter((g) => shardOf(g, 5) === 4)));
    sharding.serve({ index: 3, count: 5 }, file);
    // Asking for another shard count is worth one line, not one per request.
    expect(logged.lines().filter((line) => String(line.msg).includes("shard count other than SHARD_COUNT"))).toHaveLength(1);
  });

  it("warns once when shards are badly unbalanced, and says when they are balanced again", () => {
    // 400 targets of one service in one shard's worth: every task shares the key (same id, port, path).
    const skewed = [
      snapshot({ serviceName: "same", instances: Array.from({ length: 400 }, (_, t) => instance("same-task", { AWS_INSTANCE_IPV4: `10.1.${t >> 8}.${t & 255}` })) }),
      ...estate(4, 50),
    ];
    const { sharding, logged } = setup(0, 2);
    const builder = new TargetSetBuilder();
    const warnings = () => logged.lines().filter((line) => line.level === "warn" && String(line.msg).includes("unbalanced"));

    sharding.published(builder.build(skewed));
    sharding.published(builder.build([...skewed]));
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ shardCount: 2, maxTargets: expect.any(Number) });

    sharding.published(builder.build(estate(10, 40)));
    expect(logged.lines().some((line) => line.msg === "shards are balanced again")).toBe(true);
  });
});

describe("/prometheus-targets?shard=I&shards=N", () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  async function serve(sharding: Sharding, file: string) {
    const { logger } = memoryLogger();
    server = createHttpServer({
      registry: new Metrics(new ManualClock(), () => new Map()).registry,
      health: new HealthState(1_000, () => 0),
      targets: () => file,
      targetsOfShard: (shard) => sharding.serve(shard, file),
      logger,
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/prometheus-targets`;
  }

  it("serves any shard of the one discovery, and the configured one without parameters", async () => {
    const snapshots = estate(4, 10);
    const groups = buildTargetGroups(snapshots).groups;
    const { sharding } = setup(2, 3);
    const set = new TargetSetBuilder().build(snapshots);
    const file = textOf(sharding.cut(set).content);
    sharding.published(set);
    const url = await serve(sharding, file);

    expect(await (await fetch(url)).text()).toBe(file);
    expect(await (await fetch(`${url}?shard=2&shards=3`)).text()).toBe(file);
    const other = await fetch(`${url}?shard=0&shards=4`);
    expect(other.status).toBe(200);
    expect(other.headers.get("content-type")).toBe("application/json");
    expect(await other.text()).toBe(renderTargetGroups(groups.filter((g) => shardOf(g, 4) === 0)));
  });

  it.each([
    ["?shard=1", "give both shard and shards"],
    ["?shard=3&shards=3", "expected an integer from 0 to 2"],
    ["?shard=x&shards=3", "shard=\"x\""],
    ["?shard=0&shards=1001", "from 1 to 1000"],
  ])("answers %s with 400 and a one-line reason", async (query, reason) => {
    const url = await serve(setup(0, 1).sharding, "[]\n");

    const response = await fetch(`${url}${query}`);

    expect(response.status).toBe(400);
    const body = await response.text();
    expect(body).toContain(reason);
    expect(body.split("\n")).toHaveLength(2);
  });

  it("answers 503 for another shard before the first published discovery", async () => {
    const url = await serve(setup(0, 2).sharding, "[]\n");

    const response = await fetch(`${url}?shard=1&shards=2`);

    expect(response.status).toBe(503);
    expect(await response.text()).toBe("no discovery published yet: retry after the first cycle\n");
  });
});
