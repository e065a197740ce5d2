import { AccessDeniedException, DescribeTaskDefinitionCommand, DescribeTasksCommand, ECSClient, ServerException } from "@aws-sdk/client-ecs";
import pLimit from "p-limit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EcsApi, taskIdOf } from "../../src/aws/ecs.js";
import { EcsEnricher, type EnrichmentMode } from "../../src/aws/ecs-enricher.js";
import type { Namespace, ServiceSnapshot } from "../../src/core/model.js";
import { AwsCallError } from "../../src/errors.js";
import { ACCOUNT, callContext, clientConfig, ecsAttributes, FakeEcs, REGION, taskArn, taskDefinitionArn } from "../helpers/aws-fixtures.js";

const namespace: Namespace = { id: "ns-1", name: "prod.local", type: "DNS_PRIVATE", httpName: "prod.local" };

/** A Cloud Map service whose instances are ECS tasks `ids` of `cluster` (no cluster: not an ECS task). */
function service(
  name: string,
  ids: readonly string[],
  options: { cluster?: string | null; tags?: Record<string, string> } = {},
): ServiceSnapshot {
  const cluster = options.cluster === undefined ? "prod" : options.cluster;
  return {
    service: { id: `srv-${name}`, name, arn: `arn:aws:servicediscovery:${REGION}:${ACCOUNT}:service/srv-${name}`, namespace },
    tags: options.tags ?? { METRICS_PATH: "/metrics" },
    instances: ids.map((id, i) => ({
      id,
      attributes: ecsAttributes(`10.0.${Math.floor(i / 250)}.${i % 250}`, { ECS_CLUSTER_NAME: cluster ?? undefined }),
    })),
  };
}

function ids(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`);
}

describe("EcsEnricher", () => {
  let ecs: FakeEcs;

  function enricher(mode: EnrichmentMode = "auto"): EcsEnricher {
    return new EcsEnricher(new EcsApi(new ECSClient(clientConfig), callContext()), mode, pLimit(4));
  }

  /** The task ids sent in every DescribeTasks call so far, flattened. */
  function describedIds(): string[] {
    return ecs.mock.commandCalls(DescribeTasksCommand).flatMap((call) => call.args[0].input.tasks ?? []);
  }

  beforeEach(() => {
    ecs = new FakeEcs();
  });

  afterEach(() => {
    ecs.restore();
  });

  describe("DescribeTasks", () => {
    it("describes new tasks and attaches them to their instances", async () => {
      // Prepare
      ecs.addTask("prod", "t1", { tags: { team: "payments" } });
      ecs.addTask("prod", "t2");

      // Act
      const result = await enricher().enrich([service("web", ["t1", "t2"])]);

      // Assess
      expect(result.enabled).toBe(true);
      expect(result.errors).toEqual([]);
      const tasks = result.snapshots[0]?.ecsTasks;
      expect([...(tasks?.keys() ?? [])].sort()).toEqual(["t1", "t2"]);
      expect(tasks?.get("t1")).toMatchObject({
        taskArn: taskArn("t1"),
        taskDefinitionArn: taskDefinitionArn("web", 7),
        launchType: "FARGATE",
        tags: { team: "payments" },
      });
    });

    it("batches at most 100 ids per call and per cluster, asking for tags", async () => {
      // Prepare
      const prodIds = ids("p", 250);
      const batchIds = ids("b", 3);
      for (const id of prodIds) ecs.addTask("prod", id);
      for (const id of batchIds) ecs.addTask("batch", id);

      // Act
      await enricher().enrich([service("web", prodIds), service("jobs", batchIds, { cluster: "batch" })]);

      // Assess
      const inputs = ecs.mock.commandCalls(DescribeTasksCommand).map((call) => call.args[0].input);
      expect(inputs).toHaveLength(4);
      const shape = inputs.map((input) => `${input.cluster}:${input.tasks?.length}`).sort();
      expect(shape).toEqual(["batch:3", "prod:100", "prod:100", "prod:50"]);
      for (const input of inputs) expect(input.include).toEqual(["TAGS"]);
      expect(describedIds().sort()).toEqual([...prodIds, ...batchIds].sort());
    });

    it("caches tasks across cycles: a steady second enrich makes no call", async () => {
      // Prepare
      for (const id of ["t1", "t2"]) ecs.addTask("prod", id);
      const subject = enricher();
      const snapshots = [service("web", ["t1", "t2"])];
      await subject.enrich(snapshots);
      ecs.mock.resetHistory();

      // Act
      const second = await subject.enrich(snapshots);

      // Assess
      expect(ecs.mock.commandCalls(DescribeTasksCommand)).toHaveLength(0);
      expect(second.snapshots[0]?.ecsTasks?.size).toBe(2);
    });

    it("describes only the task ids it has not seen before", async () => {
      for (const id of ["t1", "t2", "t3"]) ecs.addTask("prod", id);
      const subject = enricher();
      await subject.enrich([service("web", ["t1", "t2"])]);
      ecs.mock.resetHistory();

      await subject.enrich([service("web", ["t1", "t2", "t3"])]);

      expect(describedIds()).toEqual(["t3"]);
    });

    it("forgets a task that leaves Cloud Map and describes it again if it comes back", async () => {
      // Prepare
      for (const id of ["t1", "t2"]) ecs.addTask("prod", id);
      const subject = enricher();
      await subject.enrich([service("web", ["t1", "t2"])]);

      // Act
      await subject.enrich([service("web", ["t1"])]);
      const afterLeaving = subject.cacheSizes().tasks;
      ecs.mock.resetHistory();
      await subject.enrich([service("web", ["t1", "t2"])]);

      // Assess
      expect(afterLeaving).toBe(1);
      expect(describedIds()).toEqual(["t2"]);
    });

    it("keys tasks by cluster: the same id in another cluster is another task", async () => {
      ecs.addTask("prod", "t1");
      ecs.addTask("batch", "t1");
      const subject = enricher();
      await subject.enrich([service("web", ["t1"])]);
      ecs.mock.resetHistory();

      await subject.enrich([service("web", ["t1"]), service("jobs", ["t1"], { cluster: "batch" })]);

      expect(ecs.mock.commandCalls(DescribeTasksCommand).map((call) => call.args[0].input.cluster)).toEqual(["batch"]);
    });

    it("does not describe a task that ECS reports MISSING again every cycle", async () => {
      // Prepare: "gone" is still registered in Cloud Map but ECS no longer knows it.
      ecs.addTask("prod", "t1");
      const subject = enricher();
      const snapshots = [service("web", ["t1", "gone"])];

      // Act
      const first = await subject.enrich(snapshots);
      ecs.mock.resetHistory();
      const second = await subject.enrich(snapshots);

      // Assess
      expect(ecs.mock.commandCalls(DescribeTasksCommand)).toHaveLength(0);
      expect(first.errors).toEqual([]);
      expect([...(second.snapshots[0]?.ecsTasks?.keys() ?? [])]).toEqual(["t1"]);
      expect(second.snapshots[0]?.instances.map((i) => i.id)).toEqual(["t1", "gone"]);
    });

    it("on failure keeps every instance without enrichment, and retries on the next cycle", async () => {
      // Prepare
      for (const id of ["t1", "t2"]) ecs.addTask("prod", id);
      const subject = enricher();
      const snapshots = [service("web", ["t1", "t2"])];
      ecs.failDescribeTasks = new ServerException({ message: "Internal failure", $metadata: {} });

      // Act
      const failed = await subject.enrich(snapshots);
      ecs.failDescribeTasks = undefined;
      ecs.mock.resetHistory();
      const retried = await subject.enrich(snapshots);

      // Assess
      expect(failed.errors).toHaveLength(1);
      expect(failed.errors[0]).toBeInstanceOf(AwsCallError);
      expect(failed.errors[0]?.operation).toBe("DescribeTasks");
      expect(failed.errors[0]?.scope).toEqual({ cluster: "prod" });
      expect(failed.snapshots[0]?.instances).toEqual(snapshots[0]?.instances);
      expect(failed.snapshots[0]?.ecsTasks?.size).toBe(0);
      expect(describedIds().sort()).toEqual(["t1", "t2"]);
      expect(retried.snapshots[0]?.ecsTasks?.size).toBe(2);
      expect(retried.errors).toEqual([]);
    });
  });

  describe("snapshot identity", () => {
    it("returns the same enriched object for an unchanged service, a new one when its tasks change", async () => {
      // Prepare
      ecs.addTask("prod", "t1");
      ecs.addTask("prod", "t2");
      const subject = enricher();
      const web = service("web", ["t1"]);
      const first = await subject.enrich([web]);

      // Act
      const again = await subject.enrich([web]);
      const grown = await subject.enrich([service("web", ["t1", "t2"])]);

      // Assess
      expect(again.snapshots[0]).toBe(first.snapshots[0]);
      expect(grown.snapshots[0]).not.toBe(first.snapshots[0]);
      expect([...(grown.snapshots[0]?.ecsTasks?.keys() ?? [])].sort()).toEqual(["t1", "t2"]);
    });

    it("makes a new object once enrichment arrives after a failure", async () => {
      // Prepare
      ecs.addTask("prod", "t1");
      ecs.failDescribeTasks = new ServerException({ message: "boom", $metadata: {} });
      const subject = enricher();
      const web = service("web", ["t1"]);
      const failed = await subject.enrich([web]);
      ecs.failDescribeTasks = undefined;

      // Act
      const recovered = await subject.enrich([web]);

      // Assess
      expect(failed.snapshots[0]?.ecsTasks?.size).toBe(0);
      expect(recovered.snapshots[0]).not.toBe(failed.snapshots[0]);
      expect(recovered.snapshots[0]?.ecsTasks?.get("t1")?.taskArn).toBe(taskArn("t1"));
    });
  });

  describe("auto mode without ECS permissions", () => {
    it("turns enrichment off for good on AccessDeniedException instead of failing every cycle", async () => {
      // Prepare: the earlier Go sidecar's task role had no ecs:Describe* permission.
      ecs.addTask("prod", "t1");
      ecs.failDescribeTasks = new AccessDeniedException({ message: "not authorized to perform ecs:DescribeTasks", $metadata: {} });
      const subject = enricher("auto");

      // Act
      const first = await subject.enrich([service("web", ["t1"])]);
      const second = await subject.enrich([service("web", ["t1"])]);

      // Assess
      expect(first).toMatchObject({ enabled: false, turnedOff: true });
      expect(first.errors).toHaveLength(1);
      expect(second).toMatchObject({ enabled: false, errors: [] });
      expect(ecs.mock.commandCalls(DescribeTasksCommand)).toHaveLength(1);
    });

    it("keeps trying in mode on", async () => {
      ecs.failDescribeTasks = new AccessDeniedException({ message: "denied", $metadata: {} });
      const subject = enricher("on");

      await subject.enrich([service("web", ["t1"])]);
      await subject.enrich([service("web", ["t1"])]);

      expect(ecs.mock.commandCalls(DescribeTasksCommand)).toHaveLength(2);
    });
  });

  describe("mode", () => {
    it("off: makes no call and returns the snapshots as they are", async () => {
      ecs.addTask("prod", "t1");
      const snapshots = [service("web", ["t1"])];

      const result = await enricher("off").enrich(snapshots);

      expect(ecs.mock.calls()).toHaveLength(0);
      expect(result.enabled).toBe(false);
      expect(result.snapshots).toEqual(snapshots);
    });

    it("auto: makes no call when no instance carries ECS_CLUSTER_NAME", async () => {
      const result = await enricher("auto").enrich([service("web", ["i-1"], { cluster: null })]);

      expect(ecs.mock.calls()).toHaveLength(0);
      expect(result.enabled).toBe(false);
    });

    it.each<EnrichmentMode>(["auto", "on"])("%s: describes tasks of instances carrying ECS_CLUSTER_NAME", async (mode) => {
      ecs.addTask("prod", "t1");

      const result = await enricher(mode).enrich([service("web", ["t1"]), service("vm", ["i-1"], { cluster: null })]);

      expect(describedIds()).toEqual(["t1"]);
      expect(result.enabled).toBe(true);
    });
  });

  describe("DescribeTaskDefinition", () => {
    const untagged = { tags: {} };

    it("is called only for untagged services' tasks, once per task-definition ARN, and cached across cycles", async () => {
      // Prepare: two untagged tasks share connect:3; the tagged service's tasks never need docker labels.
      ecs.addTask("prod", "c1", { family: "connect", revision: 3 });
      ecs.addTask("prod", "c2", { family: "connect", revision: 3 });
      ecs.addTask("prod", "w1", { family: "web", revision: 7 });
      ecs.addDefinition("connect", 3, { PROMETHEUS_EXPORTER_PORT: "9404" });
      const subject = enricher();
      const snapshots = [service("connect", ["c1", "c2"], untagged), service("web", ["w1"])];

      // Act
      const first = await subject.enrich(snapshots);
      const callsAfterFirst = ecs.mock.commandCalls(DescribeTaskDefinitionCommand).map((call) => call.args[0].input.taskDefinition);
      await subject.enrich(snapshots);

      // Assess
      expect(callsAfterFirst).toEqual([taskDefinitionArn("connect", 3)]);
      expect(ecs.mock.commandCalls(DescribeTaskDefinitionCommand)).toHaveLength(1);
      const connect = first.snapshots.find((s) => s.service.name === "connect");
      expect(connect?.ecsTaskDefinitions?.get(taskDefinitionArn("connect", 3))?.containers).toEqual([
        { name: "app", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9404" } },
      ]);
      expect(first.snapshots.find((s) => s.service.name === "web")?.ecsTaskDefinitions).toBeUndefined();
    });

    it("describes each revision separately (never cached by family)", async () => {
      ecs.addTask("prod", "c1", { family: "connect", revision: 3 });
      ecs.addTask("prod", "c2", { family: "connect", revision: 4 });
      ecs.addDefinition("connect", 3, { PROMETHEUS_EXPORTER_PORT: "9404" });
      ecs.addDefinition("connect", 4, { PROMETHEUS_EXPORTER_PORT: "9405" });
      const subject = enricher();
      await subject.enrich([service("connect", ["c1"], untagged)]);

      await subject.enrich([service("connect", ["c1", "c2"], untagged)]);

      expect(ecs.mock.commandCalls(DescribeTaskDefinitionCommand).map((call) => call.args[0].input.taskDefinition)).toEqual([
        taskDefinitionArn("connect", 3),
        taskDefinitionArn("connect", 4),
      ]);
    });

    it("does not cache a failure: the definition is asked again next cycle, and instances stay", async () => {
      // Prepare
      ecs.addTask("prod", "c1", { family: "connect", revision: 3 });
      ecs.addDefinition("connect", 3, { PROMETHEUS_EXPORTER_PORT: "9404" });
      const subject = enricher();
      const snapshots = [service("connect", ["c1"], untagged)];
      ecs.failDescribeTaskDefinition = new ServerException({ message: "Internal failure", $metadata: {} });

      // Act
      const failed = await subject.enrich(snapshots);
      ecs.failDescribeTaskDefinition = undefined;
      const retried = await subject.enrich(snapshots);

      // Assess
      expect(failed.errors.map((error) => error.operation)).toEqual(["DescribeTaskDefinition"]);
      expect(failed.snapshots[0]?.instances).toHaveLength(1);
      expect(failed.snapshots[0]?.ecsTaskDefinitions?.size).toBe(0);
      expect(ecs.mock.commandCalls(DescribeTaskDefinitionCommand)).toHaveLength(2);
      expect(retried.snapshots[0]?.ecsTaskDefinitions?.size).toBe(1);
    });
  });
});

describe("taskIdOf", () => {
  it.each([
    ["arn:aws:ecs:eu-west-1:123456789012:task/prod/0123abcd", "0123abcd"],
    ["arn:aws:ecs:eu-west-1:123456789012:task/0123abcd", "0123abcd"],
    ["0123abcd", "0123abcd"],
  ])("%s → %s", (arn, id) => {
    expect(taskIdOf(arn)).toBe(id);
  });
});
