// The emulator's synthetic estate as the core sees it: the ServiceSnapshots the Cloud Map fetcher and
// the ECS enricher would hand over after reading syntheticTopology() from the emulator, built directly
// (no HTTP, no SDK) so a pure-core test or script can take a 10,000-instance estate in milliseconds.
import { arn, stableId } from "../../dev/emulator/model/ids.js";
import { type SyntheticOptions, syntheticTopology } from "../../dev/emulator/index.js";
import type { EcsTask, EcsTaskDefinition, ServiceSnapshot } from "../../src/core/model.js";

export function syntheticSnapshots(options: SyntheticOptions = {}): ServiceSnapshot[] {
  const topology = syntheticTopology(options);
  const account = { region: topology.region, accountId: topology.accountId };
  const definitions = new Map<string, EcsTaskDefinition>();
  for (const spec of topology.ecs.taskDefinitions) {
    const definitionArn = arn.taskDefinition(account, spec.family, spec.revision);
    definitions.set(`${spec.family}:${spec.revision}`, {
      arn: definitionArn,
      family: spec.family,
      revision: spec.revision,
      ...(spec.networkMode ? { networkMode: spec.networkMode } : {}),
      containers: spec.containerDefinitions.map((container) => ({ name: container.name, dockerLabels: container.dockerLabels })),
    });
  }
  const tasks = new Map<string, EcsTask>();
  for (const spec of topology.ecs.tasks) {
    tasks.set(spec.taskId, {
      taskArn: arn.task(account, spec.cluster, spec.taskId),
      clusterArn: arn.cluster(account, spec.cluster),
      taskDefinitionArn: definitions.get(spec.taskDefinition)?.arn ?? spec.taskDefinition,
      launchType: spec.launchType,
      availabilityZone: spec.availabilityZone,
      group: spec.group,
      lastStatus: spec.lastStatus,
      desiredStatus: spec.desiredStatus,
      healthStatus: spec.healthStatus,
      tags: spec.tags,
    });
  }
  const snapshots: ServiceSnapshot[] = [];
  for (const ns of topology.namespaces) {
    const nsId = stableId("ns-", ns.name);
    const namespace = { id: nsId, name: ns.name, type: ns.type, httpName: ns.name, arn: arn.namespace(account, nsId) };
    for (const svc of ns.services) {
      const id = stableId("srv-", `${ns.name}/${svc.name}`);
      const ecsTasks = new Map(svc.instances.flatMap((instance) => (tasks.has(instance.id) ? [[instance.id, tasks.get(instance.id) as EcsTask]] : [])));
      const used = new Set([...ecsTasks.values()].map((task) => task.taskDefinitionArn));
      snapshots.push({
        service: { id, name: svc.name, arn: arn.service(account, id), namespace },
        tags: svc.tags,
        instances: svc.instances.map((instance) => ({ id: instance.id, attributes: instance.attributes, healthStatus: instance.health })),
        ...(ecsTasks.size > 0
          ? { ecsTasks, ecsTaskDefinitions: new Map([...definitions.values()].filter((d) => used.has(d.arn)).map((d) => [d.arn, d])) }
          : {}),
      });
    }
  }
  return snapshots;
}
