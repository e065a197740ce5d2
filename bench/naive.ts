import { ListNamespacesCommand } from "@aws-sdk/client-servicediscovery";
import { allPages, awsCall, type CallCounter } from "../src/aws/call.js";
import type { AwsClients } from "../src/aws/clients.js";
import type { CloudMapApi } from "../src/aws/cloudmap.js";
import { DESCRIBE_TASKS_BATCH, type EcsApi } from "../src/aws/ecs.js";
import { readParameter } from "../src/aws/ssm-parameter.js";
import { endpointsFromTags } from "../src/core/endpoints.js";
import type { EcsTask, EcsTaskDefinition, Namespace, ServiceSnapshot } from "../src/core/model.js";
import { parseNamespaceList } from "../src/core/namespace-list.js";
import { renderTargetGroups } from "../src/core/render.js";
import { Attribute, buildTargetGroups } from "../src/core/target-groups.js";
import type { PublishedFile } from "../src/output/published-file.js";

export interface NaiveDeps {
  readonly clients: AwsClients;
  readonly cloudMap: CloudMapApi;
  readonly ecs: EcsApi;
  readonly calls: CallCounter;
  readonly namespacesParameter: string;
  readonly targetsFile: PublishedFile;
}

export interface NaiveReport {
  readonly outcome: "success";
  readonly targets: number;
  readonly apiCalls: number;
  readonly file: string;
}

/**
 * The baseline: what earlier tools do. Every cycle, one call after the other, it lists every page
 * of everything and keeps nothing between cycles: all namespaces (names matched here), each
 * namespace's services (ListServices cannot be matched to namespaces without its NAMESPACE_ID
 * filter: a service summary has no namespace id), each service's tags, each service's instances, every task
 * (100 per DescribeTasks) and the task definitions that docker-label services need.
 * DiscoverInstances, not ListInstances, because only it returns the health status label.
 * It reuses the stateless API wrappers and the pure core, so its file must equal cloudmap-sd's.
 * Any failed call fails the whole cycle (earlier tools had no last-known-good state either).
 */
export class NaiveDiscovery {
  constructor(private readonly deps: NaiveDeps) {}

  async runCycle(): Promise<NaiveReport> {
    const { calls, clients, cloudMap, ecs, targetsFile } = this.deps;
    const names = parseNamespaceList(await readParameter(clients.ssm, { recorder: calls, timeoutMs: 60_000 }, this.deps.namespacesParameter));

    const allNamespaces = await allPages(
      (NextToken) =>
        awsCall({ recorder: calls, timeoutMs: 60_000 }, "ListNamespaces", {}, () => clients.serviceDiscovery.send(new ListNamespacesCommand({ NextToken, MaxResults: 100 }))),
      (page) => page.Namespaces ?? [],
      (page) => page.NextToken,
    );
    const namespaces = new Map<string, Namespace>();
    for (const summary of allNamespaces) {
      if (!summary.Id || !summary.Name || !names.includes(summary.Name)) continue;
      const httpName = summary.Properties?.HttpProperties?.HttpName ?? summary.Name;
      namespaces.set(summary.Id, { id: summary.Id, name: summary.Name, type: summary.Type ?? "UNKNOWN", httpName });
    }

    const snapshots: ServiceSnapshot[] = [];
    for (const namespace of namespaces.values()) {
      for (const service of await cloudMap.services(namespace)) {
        const tags = await cloudMap.tags(service);
        const { instances } = await cloudMap.instances(service, "ALL");
        snapshots.push({ service, tags, instances });
      }
    }

    // ECS: describe every task of every instance, then the definitions docker-label services use.
    const byCluster = new Map<string, string[]>();
    for (const { instances } of snapshots) {
      for (const instance of instances) {
        const cluster = instance.attributes[Attribute.cluster];
        if (cluster) byCluster.set(cluster, [...(byCluster.get(cluster) ?? []), instance.id]);
      }
    }
    const tasks = new Map<string, EcsTask>();
    for (const [cluster, ids] of byCluster) {
      for (let i = 0; i < ids.length; i += DESCRIBE_TASKS_BATCH) {
        const described = await ecs.tasks(cluster, ids.slice(i, i + DESCRIBE_TASKS_BATCH));
        for (const [id, task] of described.tasks) tasks.set(`${cluster}/${id}`, task);
      }
    }
    const definitions = new Map<string, EcsTaskDefinition>();
    const enriched: ServiceSnapshot[] = [];
    for (const snapshot of snapshots) {
      const dockerLabels = endpointsFromTags(snapshot.tags).kind === "untagged";
      const ecsTasks = new Map<string, EcsTask>();
      const ecsTaskDefinitions = new Map<string, EcsTaskDefinition>();
      for (const instance of snapshot.instances) {
        const task = tasks.get(`${instance.attributes[Attribute.cluster]}/${instance.id}`);
        if (!task) continue;
        ecsTasks.set(instance.id, task);
        const arn = task.taskDefinitionArn;
        if (!dockerLabels || !arn) continue;
        if (!definitions.has(arn)) definitions.set(arn, await ecs.taskDefinition(arn));
        ecsTaskDefinitions.set(arn, definitions.get(arn) as EcsTaskDefinition);
      }
      enriched.push(byCluster.size === 0 ? snapshot : { ...snapshot, ecsTasks, ...(dockerLabels ? { ecsTaskDefinitions } : {}) });
    }

    const { groups } = buildTargetGroups(enriched);
    const file = await targetsFile.publish(renderTargetGroups(groups), { complete: true });
    return { outcome: "success", targets: groups.length, apiCalls: calls.take(), file };
  }
}
