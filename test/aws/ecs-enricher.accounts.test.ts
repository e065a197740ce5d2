// Cross-account enrichment: another account's tasks are described with that account's ECS calls
// (a client with ECS_ASSUME_ROLE's credentials), and a denied role fails that account only.
import pLimit from "p-limit";
import { beforeEach, describe, expect, it } from "vitest";
import { AssumeRoleError } from "../../src/aws/accounts.js";
import type { DescribedTasks, EcsApi } from "../../src/aws/ecs.js";
import { EcsEnricher, type EcsEnricherOptions } from "../../src/aws/ecs-enricher.js";
import { ManualClock } from "../../src/clock.js";
import type { EcsTask, Namespace, ServiceSnapshot } from "../../src/core/model.js";
import { AwsCallError } from "../../src/errors.js";

const MONITORING = "111111111111";
const SHOP = "222222222222";
const PAY = "333333333333";

/** One account's ECS: its tasks by "cluster/id"; fails every call while `denied`, as a refused AssumeRole does. */
class StubEcs {
  readonly tasks = new Map<string, EcsTask>();
  readonly asked: string[] = [];
  denied = false;

  constructor(readonly account: string) {}

  add(cluster: string, id: string): void {
    this.tasks.set(`${cluster}/${id}`, { taskArn: `arn:aws:ecs:eu-west-1:${this.account}:task/${cluster}/${id}`, tags: {} });
  }

  api(): EcsApi {
    return {
      tasks: async (cluster: string, ids: readonly string[]): Promise<DescribedTasks> => {
        this.asked.push(...ids.map((id) => `${cluster}/${id}`));
        if (this.denied) {
          const cause = Object.assign(new Error("not authorized"), { name: "AccessDenied" });
          throw new AwsCallError("DescribeTasks", { cluster }, { cause: new AssumeRoleError(this.account, `arn:aws:iam::${this.account}:role/r`, { cause }) });
        }
        const found = new Map<string, EcsTask>();
        const missing: string[] = [];
        for (const id of ids) {
          const task = this.tasks.get(`${cluster}/${id}`);
          if (task) found.set(id, task);
          else missing.push(id);
        }
        return { clusterFound: true, tasks: found, missing, failed: [] };
      },
      taskDefinition: async () => {
        throw new Error("not used: every service here is tagged");
      },
    } as unknown as EcsApi;
  }
}

function snapshot(name: string, owner: string, ids: string[], createdBy: string = owner): ServiceSnapshot {
  const namespace: Namespace = { id: `ns-${owner}`, name: `${name}.local`, type: "HTTP", httpName: `${name}.local`, owner, ...(owner === MONITORING ? {} : { shared: true }) };
  return {
    service: { id: `srv-${name}`, arn: `arn:aws:servicediscovery:eu-west-1:${owner}:service/srv-${name}`, name, namespace, createdBy },
    tags: { METRICS_PATH: "/metrics" },
    instances: ids.map((id) => ({ id, attributes: { AWS_INSTANCE_IPV4: "10.0.0.1", ECS_CLUSTER_NAME: "prod" } })),
  };
}

describe("EcsEnricher across accounts", () => {
  let own: StubEcs;
  let others: Map<string, StubEcs>;
  let clock: ManualClock;

  const enricher = (options: Partial<EcsEnricherOptions> = {}) =>
    new EcsEnricher(own.api(), {
      mode: "auto",
      limit: pLimit(4),
      clock,
      accounts: { ecsFor: (account) => (others.get(account) as StubEcs).api(), callerAccount: async () => MONITORING },
      ...options,
    });
  const arnOf = (result: { snapshots: ServiceSnapshot[] }, service: string, id: string) =>
    result.snapshots.find((s) => s.service.name === service)?.ecsTasks?.get(id)?.taskArn;

  beforeEach(() => {
    own = new StubEcs(MONITORING);
    others = new Map([SHOP, PAY].map((account) => [account, new StubEcs(account)]));
    clock = new ManualClock();
    // The same cluster name and task id in three accounts: three different tasks.
    own.add("prod", "t1");
    others.get(SHOP)?.add("prod", "t1");
    others.get(PAY)?.add("prod", "t1");
  });

  it("describes each service's tasks in the account that created it, its own through its own client", async () => {
    const result = await enricher().enrich([snapshot("ops", MONITORING, ["t1"]), snapshot("shop", SHOP, ["t1"]), snapshot("pay", PAY, ["t1"])]);

    expect(arnOf(result, "ops", "t1")).toContain(`:${MONITORING}:`);
    expect(arnOf(result, "shop", "t1")).toContain(`:${SHOP}:`);
    expect(arnOf(result, "pay", "t1")).toContain(`:${PAY}:`);
    expect([own.asked, others.get(SHOP)?.asked, others.get(PAY)?.asked]).toEqual([["prod/t1"], ["prod/t1"], ["prod/t1"]]);
  });

  it("uses the creating account over the namespace's owner (a consumer's service in a shared namespace)", async () => {
    const result = await enricher().enrich([snapshot("mine", SHOP, ["t1"], MONITORING)]);

    expect(arnOf(result, "mine", "t1")).toContain(`:${MONITORING}:`);
    expect(others.get(SHOP)?.asked).toEqual([]);
  });

  it("a denied role fails that account only: its known tasks keep their data, the other account is read", async () => {
    const subject = enricher();
    await subject.enrich([snapshot("shop", SHOP, ["t1"]), snapshot("pay", PAY, ["t1"])]);
    (others.get(PAY) as StubEcs).denied = true;
    others.get(PAY)?.add("prod", "t2");
    others.get(SHOP)?.add("prod", "t2");

    const result = await subject.enrich([snapshot("shop", SHOP, ["t1", "t2"]), snapshot("pay", PAY, ["t1", "t2"])]);

    expect(result.failingAccounts).toEqual([PAY]);
    expect(result.errors.map((error) => error.scope.cluster)).toEqual([`${PAY}:prod`]);
    expect(arnOf(result, "shop", "t2")).toContain(`:${SHOP}:`);
    expect(arnOf(result, "pay", "t1")).toContain(`:${PAY}:`); // last-known-good
    expect(arnOf(result, "pay", "t2")).toBeUndefined();
    expect(result.pending).toBe(1);
  });

  it("describes every task as its own without ECS_ASSUME_ROLE", async () => {
    const result = await enricher({ accounts: undefined }).enrich([snapshot("shop", SHOP, ["t1"])]);

    expect(arnOf(result, "shop", "t1")).toContain(`:${MONITORING}:`);
    expect(own.asked).toEqual(["prod/t1"]);
  });

  it("with ECS_ASSUME_ROLE and the own account unknown (STS unreachable), defers services with an account: pending, never described as its own", async () => {
    let caller: string | undefined;
    const subject = enricher({ accounts: { ecsFor: (account) => (others.get(account) as StubEcs).api(), callerAccount: async () => caller } });
    const plain = { ...snapshot("legacy", MONITORING, ["t1"]), service: { ...snapshot("legacy", MONITORING, ["t1"]).service, createdBy: undefined, namespace: { id: "ns-plain", name: "plain", type: "HTTP", httpName: "plain" } } };

    const unknown = await subject.enrich([snapshot("shop", SHOP, ["t1"]), snapshot("ops", MONITORING, ["t1", "t2"]), plain]);

    expect(own.asked).toEqual(["prod/t1"]); // only the service with no account at all
    expect(others.get(SHOP)?.asked).toEqual([]);
    expect(unknown).toMatchObject({ pending: 3, missingClusters: [], errors: [] });
    expect(arnOf(unknown, "shop", "t1")).toBeUndefined();

    caller = MONITORING;
    own.add("prod", "t2");
    const known = await subject.enrich([snapshot("shop", SHOP, ["t1"]), snapshot("ops", MONITORING, ["t1", "t2"]), plain]);
    expect(arnOf(known, "shop", "t1")).toContain(`:${SHOP}:`);
    expect(arnOf(known, "ops", "t2")).toContain(`:${MONITORING}:`);
    expect(known.pending).toBe(0);
  });
});
