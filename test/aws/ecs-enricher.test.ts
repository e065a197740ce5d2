import { AccessDeniedException, DescribeTaskDefinitionCommand, DescribeTasksCommand, ECSClient, ServerException } from "@aws-sdk/client-ecs";
import pLimit from "p-limit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EcsApi, EcsTaskFailuresError, taskIdOf } from "../../src/aws/ecs.js";
import { DEFAULT_NOT_FOUND_TTL_MS, MAX_TASKS_DESCRIBED_AT_ONCE, EcsEnricher, type EcsEnricherOptions, type EnrichmentMode } from "../../src/aws/ecs-enricher.js";
import { ManualClock } from "../../src/clock.js";
import type { Namespace, ServiceSnapshot } from "../../src/core/model.js";
import { DEFAULT_RETRY_SCHEDULE } from "../../src/core/retry-schedule.js";
import { AwsCallError, CycleDeadlineError, MalformedResponseError } from "../../src/errors.js";
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

/** The longest default backoff after the first and the second consecutive failure (jitter only lengthens). */
const FIRST_BACKOFF_MS = DEFAULT_RETRY_SCHEDULE.baseMs * (1 + DEFAULT_RETRY_SCHEDULE.jitter);
const SECOND_BACKOFF_MS = 2 * FIRST_BACKOFF_MS;
const NOT_FOUND_TTL_MS = DEFAULT_NOT_FOUND_TTL_MS;

function denied(operation = "ecs:DescribeTasks"): AccessDeniedException {
  return new AccessDeniedException({ message: `not authorized to perform ${operation}`, $metadata: {} });
}

describe("EcsEnricher", () => {
  let ecs: FakeEcs;
  let clock: ManualClock;

  function enricher(mode: EnrichmentMode = "auto", options: Partial<EcsEnricherOptions> = {}): EcsEnricher {
    return new EcsEnricher(new EcsApi(new ECSClient(clientConfig), callContext()), { mode, limit: pLimit(4), clock, ...options });
  }

  /** The DescribeTaskDefinition ARNs asked so far, in order. */
  function describedDefinitions(): Array<string | undefined> {
    return ecs.mock.commandCalls(DescribeTaskDefinitionCommand).map((call) => call.args[0].input.taskDefinition);
  }

  /** The task ids sent in every DescribeTasks call so far, flattened. */
  function describedIds(): string[] {
    return ecs.mock.commandCalls(DescribeTasksCommand).flatMap((call) => call.args[0].input.tasks ?? []);
  }

  beforeEach(() => {
    ecs = new FakeEcs();
    clock = new ManualClock();
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

    it("keeps every fact ECS gave about each task, down to tags and health, however much the tasks share", async () => {
      // Prepare: tasks repeating the same cluster, definition, group and tags, and one with a health status.
      ecs.addTask("prod", "t1", { tags: { team: "payments", tier: "web" } });
      ecs.addTask("prod", "t2", { tags: { team: "payments", tier: "web" } });
      const healthy = ecs.addTask("prod", "t3", { family: "api", revision: 2, tags: { team: "search" } });
      healthy.healthStatus = "HEALTHY";
      healthy.containerInstanceArn = `arn:aws:ecs:${REGION}:${ACCOUNT}:container-instance/prod/ci-1`;
      const api = new EcsApi(new ECSClient(clientConfig), callContext());
      const described = (await api.tasks("prod", ["t1", "t2", "t3"])).tasks;

      // Act
      const result = await enricher().enrich([service("web", ["t1", "t2", "t3"])]);

      // Assess
      const tasks = result.snapshots[0]?.ecsTasks;
      for (const id of ["t1", "t2", "t3"]) expect(tasks?.get(id)).toEqual(described.get(id));
      expect(tasks?.get("t3")).toMatchObject({ healthStatus: "HEALTHY", taskDefinitionArn: taskDefinitionArn("api", 2), tags: { team: "search" } });
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

    /** An EcsApi whose DescribeTasks answers a turn later, counting the calls and tasks in flight at once. */
    function countingApi() {
      const seen = { calls: 0, mostCalls: 0, mostTasks: 0 };
      let calls = 0;
      let tasks = 0;
      const api = new EcsApi(new ECSClient(clientConfig), callContext());
      api.tasks = async (cluster, taskIds) => {
        seen.calls++;
        calls++;
        tasks += taskIds.length;
        seen.mostCalls = Math.max(seen.mostCalls, calls);
        seen.mostTasks = Math.max(seen.mostTasks, tasks);
        await new Promise((resolve) => setImmediate(resolve));
        calls--;
        tasks -= taskIds.length;
        return { clusterFound: true, tasks: new Map(taskIds.map((id) => [id, { taskArn: taskArn(id, cluster), tags: {} }])), missing: [], failed: [] };
      };
      return { api, seen };
    }

    it(`asks for at most ${MAX_TASKS_DESCRIBED_AT_ONCE} tasks at once in DescribeTasks calls, however wide the shared limit`, async () => {
      // Prepare: 4 clusters x 250 tasks = 12 batches, and a shared limit that would let all 12 run at once.
      const { api, seen } = countingApi();
      const clusters = ["a", "b", "c", "d"];
      const subject = new EcsEnricher(api, { mode: "auto", limit: pLimit(20), clock });

      // Act
      const result = await subject.enrich(clusters.map((cluster) => service(cluster, ids(cluster, 250), { cluster })));

      // Assess
      expect(seen.calls).toBe(12);
      expect(seen.mostTasks).toBe(MAX_TASKS_DESCRIBED_AT_ONCE);
      // Batches are 100, 100 and 50 per cluster: at most two full ones and two halves at once.
      expect(seen.mostCalls).toBeLessThanOrEqual(4);
      expect(result.pending).toBe(0);
      expect(subject.cacheSizes().tasks).toBe(1000);
    });

    it("sends a churn cycle's small batches of several clusters together", async () => {
      const { api, seen } = countingApi();
      const clusters = ["a", "b", "c", "d", "e"];
      const subject = new EcsEnricher(api, { mode: "auto", limit: pLimit(10), clock });

      await subject.enrich(clusters.map((cluster) => service(cluster, ids(cluster, 20), { cluster })));

      expect(seen.calls).toBe(5);
      expect(seen.mostCalls).toBe(5);
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
      expect(first).toMatchObject({ errors: [], unknownTasks: 1, pending: 0 });
      expect([...(second.snapshots[0]?.ecsTasks?.keys() ?? [])]).toEqual(["t1"]);
      expect(second.snapshots[0]?.instances.map((i) => i.id)).toEqual(["t1", "gone"]);
    });

    it("on failure keeps every instance without enrichment, and retries once its backoff has passed", async () => {
      // Prepare
      for (const id of ["t1", "t2"]) ecs.addTask("prod", id);
      const subject = enricher();
      const snapshots = [service("web", ["t1", "t2"])];
      ecs.failDescribeTasks = new ServerException({ message: "Internal failure", $metadata: {} });

      // Act
      const failed = await subject.enrich(snapshots);
      ecs.failDescribeTasks = undefined;
      ecs.mock.resetHistory();
      clock.advance(FIRST_BACKOFF_MS);
      const retried = await subject.enrich(snapshots);

      // Assess
      expect(failed.errors).toHaveLength(1);
      expect(failed.errors[0]).toBeInstanceOf(AwsCallError);
      expect(failed.errors[0]?.operation).toBe("DescribeTasks");
      expect(failed.errors[0]?.scope).toEqual({ cluster: "prod" });
      expect(failed.snapshots[0]?.instances).toEqual(snapshots[0]?.instances);
      expect(failed.snapshots[0]?.ecsTasks?.size).toBe(0);
      expect(failed.pending).toBe(2);
      expect(describedIds().sort()).toEqual(["t1", "t2"]);
      expect(retried.snapshots[0]?.ecsTasks?.size).toBe(2);
      expect(retried).toMatchObject({ errors: [], pending: 0, backingOff: 0 });
    });
  });

  describe("a cycle cut off by its deadline", () => {
    it("is not an ECS failure: no error, no backoff, the next cycle describes the tasks at once", async () => {
      // Prepare: the cycle's signal is already aborted at its deadline when enrichment starts.
      for (const id of ["t1", "t2"]) ecs.addTask("prod", id);
      const subject = enricher();
      const snapshots = [service("web", ["t1", "t2"])];
      const deadline = new AbortController();
      deadline.abort(new CycleDeadlineError(1_000));

      // Act
      const cut = await subject.enrich(snapshots, deadline.signal);
      const next = await subject.enrich(snapshots, new AbortController().signal);

      // Assess
      expect(cut).toMatchObject({ errors: [], backingOff: 0, pending: 2 });
      expect(next).toMatchObject({ errors: [], backingOff: 0, pending: 0 });
      expect(next.snapshots[0]?.ecsTasks?.size).toBe(2);
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
      clock.advance(FIRST_BACKOFF_MS);

      // Act
      const recovered = await subject.enrich([web]);

      // Assess
      expect(failed.snapshots[0]?.ecsTasks?.size).toBe(0);
      expect(recovered.snapshots[0]).not.toBe(failed.snapshots[0]);
      expect(recovered.snapshots[0]?.ecsTasks?.get("t1")?.taskArn).toBe(taskArn("t1"));
    });
  });

  describe("a denied call (AccessDeniedException) is a failed call like any other", () => {
    const untagged = { tags: {} };

    it.each<EnrichmentMode>(["auto", "on"])("%s: keeps enrichment on, and the docker-label data already read", async (mode) => {
      // Prepare: c1 and its definition are read; then the permission goes away and c2 appears.
      ecs.addTask("prod", "c1", { family: "connect", revision: 3 });
      ecs.addTask("prod", "c2", { family: "connect", revision: 3 });
      ecs.addDefinition("connect", 3, { PROMETHEUS_EXPORTER_PORT: "9404" });
      const subject = enricher(mode);
      const before = await subject.enrich([service("connect", ["c1"], untagged)]);
      ecs.failDescribeTasks = denied();
      ecs.failDescribeTaskDefinition = denied("ecs:DescribeTaskDefinition");

      // Act
      const denial = await subject.enrich([service("connect", ["c1", "c2"], untagged)]);

      // Assess
      expect(denial).toMatchObject({ enabled: true, pending: 1, backingOff: 0 });
      expect(denial).not.toHaveProperty("turnedOff");
      expect(denial.errors.map((error) => [error.operation, error.scope])).toEqual([["DescribeTasks", { cluster: "prod" }]]);
      const connect = denial.snapshots[0];
      expect([...(connect?.ecsTasks?.keys() ?? [])]).toEqual(["c1"]);
      expect(connect?.ecsTasks?.get("c1")).toBe(before.snapshots[0]?.ecsTasks?.get("c1"));
      expect([...(connect?.ecsTaskDefinitions?.keys() ?? [])]).toEqual([taskDefinitionArn("connect", 3)]);
      expect(connect?.instances.map((instance) => instance.id)).toEqual(["c1", "c2"]);
    });

    it("retries with backoff, not every cycle, and recovers once the permission is granted", async () => {
      // Prepare
      ecs.addTask("prod", "t1");
      ecs.failDescribeTasks = denied();
      const subject = enricher("auto");
      const snapshots = [service("web", ["t1"])];
      const calls = () => ecs.mock.commandCalls(DescribeTasksCommand).length;

      // Act + Assess, cycle by cycle
      const first = await subject.enrich(snapshots);
      expect(first).toMatchObject({ enabled: true, pending: 1, backingOff: 0 });
      expect(first.errors).toHaveLength(1);
      expect(calls()).toBe(1);

      clock.advance(4_999);
      const waiting = await subject.enrich(snapshots);
      expect(waiting).toMatchObject({ enabled: true, errors: [], pending: 1, backingOff: 1 });
      // Not called again, so not a new error; but still failing (the report must not see it clear).
      expect(waiting.stillFailing).toEqual([first.errors[0]]);
      expect(first.stillFailing).toEqual([]);
      expect(calls()).toBe(1);

      clock.advance(FIRST_BACKOFF_MS - 4_999);
      const second = await subject.enrich(snapshots);
      expect(second.errors).toHaveLength(1);
      expect(calls()).toBe(2);

      ecs.failDescribeTasks = undefined;
      clock.advance(9_999);
      const stillWaiting = await subject.enrich(snapshots);
      expect(stillWaiting).toMatchObject({ errors: [], pending: 1, backingOff: 1 });
      expect(stillWaiting.stillFailing).toEqual([second.errors[0]]);
      expect(calls()).toBe(2);

      clock.advance(SECOND_BACKOFF_MS - 9_999);
      const granted = await subject.enrich(snapshots);
      expect(granted).toMatchObject({ enabled: true, errors: [], stillFailing: [], pending: 0, backingOff: 0 });
      expect(granted.snapshots[0]?.ecsTasks?.get("t1")?.taskArn).toBe(taskArn("t1"));
      expect(calls()).toBe(3);
    });

    it("takes its backoff from the options", async () => {
      // Prepare
      ecs.addTask("prod", "t1");
      ecs.failDescribeTasks = denied();
      const subject = enricher("auto", { backoff: { baseMs: 1_000, maxMs: 1_000, jitter: 0 } });
      const snapshots = [service("web", ["t1"])];
      await subject.enrich(snapshots);
      ecs.failDescribeTasks = undefined;

      // Act
      clock.advance(999);
      const waiting = await subject.enrich(snapshots);
      clock.advance(1);
      const retried = await subject.enrich(snapshots);

      // Assess
      expect(waiting).toMatchObject({ backingOff: 1, pending: 1 });
      expect(retried).toMatchObject({ backingOff: 0, pending: 0, errors: [] });
    });

    it("backs off per cluster: a denied cluster does not delay another", async () => {
      // Prepare
      ecs.addTask("prod", "t1");
      ecs.addTask("batch", "b1");
      ecs.addTask("batch", "b2");
      ecs.failCluster("prod", denied());
      const subject = enricher();
      await subject.enrich([service("web", ["t1"]), service("jobs", ["b1"], { cluster: "batch" })]);
      ecs.mock.resetHistory();

      // Act
      clock.advance(1_000);
      const next = await subject.enrich([service("web", ["t1"]), service("jobs", ["b1", "b2"], { cluster: "batch" })]);

      // Assess
      expect(ecs.mock.commandCalls(DescribeTasksCommand).map((call) => call.args[0].input.cluster)).toEqual(["batch"]);
      expect(next).toMatchObject({ errors: [], backingOff: 1, pending: 1 });
      expect(next.snapshots[1]?.ecsTasks?.size).toBe(2);
    });
  });

  describe("answers that say 'not found' are cached, not failures", () => {
    it("caches a cluster ECS does not know for notFoundTtlMs, with no error and nothing pending, then asks again", async () => {
      // Prepare: "gone" is still named by instances in Cloud Map, but ECS has no such cluster.
      ecs.addTask("prod", "t1");
      ecs.deleteCluster("gone");
      const subject = enricher();
      const snapshots = [service("web", ["t1"]), service("jobs", ["j1"], { cluster: "gone" })];
      const askedGone = () => ecs.mock.commandCalls(DescribeTasksCommand).filter((call) => call.args[0].input.cluster === "gone").length;

      // Act
      const first = await subject.enrich(snapshots);
      clock.advance(NOT_FOUND_TTL_MS - 1);
      const cached = await subject.enrich(snapshots);
      const callsWhileCached = askedGone();
      ecs.createCluster("gone");
      ecs.addTask("gone", "j1");
      clock.advance(1);
      const rechecked = await subject.enrich(snapshots);

      // Assess
      expect(first).toMatchObject({ enabled: true, errors: [], missingClusters: ["gone"], pending: 0, backingOff: 0 });
      expect(first.snapshots[0]?.ecsTasks?.size).toBe(1);
      expect(first.snapshots[1]?.ecsTasks?.size).toBe(0);
      expect(cached).toMatchObject({ errors: [], missingClusters: ["gone"], pending: 0 });
      expect(callsWhileCached).toBe(1);
      expect(askedGone()).toBe(2);
      expect(rechecked).toMatchObject({ errors: [], missingClusters: [], pending: 0 });
      expect(rechecked.snapshots[1]?.ecsTasks?.get("j1")?.taskArn).toBe(taskArn("j1", "gone"));
    });

    it("lists missing clusters sorted, and forgets one no instance names any more", async () => {
      ecs.deleteCluster("zeta");
      ecs.deleteCluster("alpha");
      const subject = enricher();

      const both = await subject.enrich([service("a", ["a1"], { cluster: "zeta" }), service("b", ["b1"], { cluster: "alpha" })]);
      const one = await subject.enrich([service("a", ["a1"], { cluster: "zeta" })]);

      expect(both.missingClusters).toEqual(["alpha", "zeta"]);
      expect(one.missingClusters).toEqual(["zeta"]);
    });

    it("re-describes a task ECS reported MISSING once notFoundTtlMs has passed", async () => {
      // Prepare
      ecs.addTask("prod", "t1");
      const subject = enricher();
      const snapshots = [service("web", ["t1", "late"])];

      // Act
      const first = await subject.enrich(snapshots);
      clock.advance(NOT_FOUND_TTL_MS - 1);
      const cached = await subject.enrich(snapshots);
      const callsWhileCached = describedIds();
      ecs.addTask("prod", "late");
      clock.advance(1);
      const rechecked = await subject.enrich(snapshots);

      // Assess
      expect(first).toMatchObject({ errors: [], unknownTasks: 1, pending: 0 });
      expect(cached).toMatchObject({ errors: [], unknownTasks: 1, pending: 0 });
      expect(cached.snapshots[0]).toBe(first.snapshots[0]);
      expect(callsWhileCached.sort()).toEqual(["late", "t1"]);
      expect(describedIds().sort()).toEqual(["late", "late", "t1"]);
      expect(rechecked).toMatchObject({ errors: [], unknownTasks: 0, pending: 0 });
      expect([...(rechecked.snapshots[0]?.ecsTasks?.keys() ?? [])].sort()).toEqual(["late", "t1"]);
    });

    it("keeps a MISSING answer when its re-check fails: it is still an answer, not pending", async () => {
      const subject = enricher();
      const snapshots = [service("web", ["gone"])];
      await subject.enrich(snapshots);
      ecs.failDescribeTasks = new ServerException({ message: "boom", $metadata: {} });
      clock.advance(NOT_FOUND_TTL_MS);

      const recheck = await subject.enrich(snapshots);

      expect(recheck).toMatchObject({ unknownTasks: 1, pending: 0 });
      expect(recheck.errors).toHaveLength(1);
    });

    it("accepts a notFoundTtlMs of its own, and refuses one that is not positive", () => {
      expect(DEFAULT_NOT_FOUND_TTL_MS).toBe(300_000);
      expect(() => enricher("auto", { notFoundTtlMs: 60_000 })).not.toThrow();
      expect(() => enricher("auto", { notFoundTtlMs: 0 })).toThrow(RangeError);
      expect(() => enricher("auto", { notFoundTtlMs: Number.NaN })).toThrow(RangeError);
    });
  });

  describe("answers that are failures", () => {
    it("fails only the cluster whose DescribeTasks answer is malformed ({}), while another cluster's batch succeeds", async () => {
      // Prepare
      ecs.addTask("prod", "t1");
      ecs.addTask("batch", "b1");
      ecs.addTask("batch", "b2");
      ecs.answerDescribeTasks("batch", {});
      const subject = enricher();

      // Act
      const result = await subject.enrich([service("web", ["t1"]), service("jobs", ["b1", "b2"], { cluster: "batch" })]);

      // Assess
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]?.scope).toEqual({ cluster: "batch" });
      expect(result.errors[0]?.cause).toBeInstanceOf(MalformedResponseError);
      expect(result).toMatchObject({ pending: 2, unknownTasks: 0, missingClusters: [] });
      expect(result.snapshots[0]?.ecsTasks?.size).toBe(1);
      expect(result.snapshots[1]?.ecsTasks?.size).toBe(0);
    });

    it("fails a task ECS lists in failures with another reason than MISSING, and describes it again later", async () => {
      // Prepare
      ecs.addTask("prod", "t1");
      ecs.addTask("prod", "t2");
      ecs.failTask("prod", "t2", "UNAVAILABLE");
      const subject = enricher();
      const snapshots = [service("web", ["t1", "t2"])];

      // Act
      const failed = await subject.enrich(snapshots);
      ecs.failTask("prod", "t2", undefined);
      ecs.mock.resetHistory();
      clock.advance(FIRST_BACKOFF_MS);
      const retried = await subject.enrich(snapshots);

      // Assess
      expect(failed.errors).toHaveLength(1);
      expect(failed.errors[0]?.cause).toBeInstanceOf(EcsTaskFailuresError);
      expect(failed.errors[0]?.message).toContain("t2 (UNAVAILABLE)");
      expect(failed).toMatchObject({ pending: 1, unknownTasks: 0 });
      expect([...(failed.snapshots[0]?.ecsTasks?.keys() ?? [])]).toEqual(["t1"]);
      expect(describedIds()).toEqual(["t2"]);
      expect(retried).toMatchObject({ errors: [], pending: 0 });
      expect(retried.snapshots[0]?.ecsTasks?.size).toBe(2);
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

    it("does not cache a failure: the definition is asked again after its backoff, and instances stay", async () => {
      // Prepare
      ecs.addTask("prod", "c1", { family: "connect", revision: 3 });
      ecs.addDefinition("connect", 3, { PROMETHEUS_EXPORTER_PORT: "9404" });
      const subject = enricher();
      const snapshots = [service("connect", ["c1"], untagged)];
      ecs.failDescribeTaskDefinition = new ServerException({ message: "Internal failure", $metadata: {} });

      // Act
      const failed = await subject.enrich(snapshots);
      ecs.failDescribeTaskDefinition = undefined;
      clock.advance(FIRST_BACKOFF_MS);
      const retried = await subject.enrich(snapshots);

      // Assess
      expect(failed.errors.map((error) => error.operation)).toEqual(["DescribeTaskDefinition"]);
      expect(failed.errors[0]?.scope).toEqual({ taskDefinition: taskDefinitionArn("connect", 3) });
      expect(failed.pending).toBe(1);
      expect(failed.snapshots[0]?.instances).toHaveLength(1);
      expect(failed.snapshots[0]?.ecsTaskDefinitions?.size).toBe(0);
      expect(ecs.mock.commandCalls(DescribeTaskDefinitionCommand)).toHaveLength(2);
      expect(retried.snapshots[0]?.ecsTaskDefinitions?.size).toBe(1);
      expect(retried.pending).toBe(0);
    });

    it("backs off a failing definition per ARN and counts it as pending until it is read", async () => {
      // Prepare
      ecs.addTask("prod", "c1", { family: "connect", revision: 3 });
      ecs.addDefinition("connect", 3, { PROMETHEUS_EXPORTER_PORT: "9404" });
      ecs.failDescribeTaskDefinition = denied("ecs:DescribeTaskDefinition");
      const subject = enricher();
      const snapshots = [service("connect", ["c1"], untagged)];

      // Act
      const failed = await subject.enrich(snapshots);
      clock.advance(1_000);
      const waiting = await subject.enrich(snapshots);

      // Assess
      expect(failed).toMatchObject({ pending: 1, backingOff: 0 });
      expect(failed.errors).toHaveLength(1);
      expect(waiting).toMatchObject({ errors: [], pending: 1, backingOff: 1 });
      expect(waiting.stillFailing).toEqual([failed.errors[0]]);
      expect(describedDefinitions()).toHaveLength(1);
    });

    it("stops reporting a part as still failing once no service needs it", async () => {
      // Prepare
      ecs.addTask("prod", "t1");
      ecs.failDescribeTasks = denied();
      const subject = enricher("on");
      await subject.enrich([service("web", ["t1"])]);

      // Act: the task leaves Cloud Map while its cluster backs off; then it comes back.
      clock.advance(1_000);
      const gone = await subject.enrich([service("web", [])]);
      clock.advance(1_000);
      const back = await subject.enrich([service("web", ["t1"])]);

      // Assess: forgotten with the cluster's backoff, so described again at once (and reported as a new error)
      expect(gone.stillFailing).toEqual([]);
      expect(back).toMatchObject({ backingOff: 0, stillFailing: [] });
      expect(back.errors).toHaveLength(1);
    });

    it("evicts a definition no task uses any more, and describes it again when one does", async () => {
      // Prepare
      ecs.addTask("prod", "c1", { family: "connect", revision: 3 });
      ecs.addTask("prod", "c2", { family: "connect", revision: 4 });
      ecs.addDefinition("connect", 3, { PROMETHEUS_EXPORTER_PORT: "9404" });
      ecs.addDefinition("connect", 4, { PROMETHEUS_EXPORTER_PORT: "9404" });
      const subject = enricher();
      await subject.enrich([service("connect", ["c1"], untagged)]);
      const whileUsed = subject.cacheSizes().taskDefinitions;

      // Act: c1 is replaced by c2 (a deployment), then c1 is back (a rollback).
      await subject.enrich([service("connect", ["c2"], untagged)]);
      const afterDeployment = subject.cacheSizes().taskDefinitions;
      const back = await subject.enrich([service("connect", ["c1"], untagged)]);

      // Assess
      expect(whileUsed).toBe(1);
      expect(afterDeployment).toBe(1);
      expect(subject.cacheSizes().taskDefinitions).toBe(1);
      expect(describedDefinitions()).toEqual([taskDefinitionArn("connect", 3), taskDefinitionArn("connect", 4), taskDefinitionArn("connect", 3)]);
      expect(back.pending).toBe(0);
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
