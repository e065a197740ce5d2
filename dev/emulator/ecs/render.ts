import type { ContainerDefinition, Task, TaskDefinition } from "@aws-sdk/client-ecs";
import { type Account, arn, epochSeconds, stableId } from "../model/ids.js";
import type { TaskDefinitionRecord, TaskRecord } from "../model/state.js";
import type { Wire } from "../protocol/handler.js";

type ContainerSpec = TaskDefinitionRecord["spec"]["containerDefinitions"][number];

export function tagList(tags: Readonly<Record<string, string>>): { key: string; value: string }[] {
  return Object.entries(tags).map(([key, value]) => ({ key, value }));
}

/**
 * A task as DescribeTasks returns it. awsvpc tasks carry their address in an ENI attachment and in
 * each container's networkInterfaces; bridge/host tasks carry host ports in networkBindings. Those
 * are the two places real discovery code reads an address from.
 */
export function renderTask(account: Account, task: TaskRecord, definition: TaskDefinitionRecord, withTags: boolean): Wire<Task> {
  const { spec } = task;
  const awsvpc = definition.spec.networkMode === "awsvpc";
  const eniId = stableId("", `eni/${spec.cluster}/${spec.taskId}`, 32).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5");
  const ip = spec.privateIpv4Address;
  const started = epochSeconds(task.createdAt);
  return {
    attachments:
      awsvpc && ip !== undefined
        ? [
            {
              id: eniId,
              type: "ElasticNetworkInterface",
              status: "ATTACHED",
              details: [
                { name: "subnetId", value: `subnet-${stableId("", spec.availabilityZone ?? account.region, 17)}` },
                { name: "networkInterfaceId", value: `eni-${stableId("", eniId, 17)}` },
                { name: "privateDnsName", value: `ip-${ip.replaceAll(".", "-")}.ec2.internal` },
                { name: "privateIPv4Address", value: ip },
              ],
            },
          ]
        : [],
    availabilityZone: spec.availabilityZone ?? `${account.region}a`,
    clusterArn: arn.cluster(account, spec.cluster),
    connectivity: "CONNECTED",
    connectivityAt: started,
    ...(spec.containerInstanceArn === undefined ? {} : { containerInstanceArn: spec.containerInstanceArn }),
    containers: definition.spec.containerDefinitions.map((c) => ({
      containerArn: arn.container(account, spec.cluster, spec.taskId, c.name),
      taskArn: task.arn,
      name: c.name,
      image: c.image,
      lastStatus: spec.lastStatus,
      networkBindings: awsvpc
        ? []
        : c.portMappings.map((p) => ({ bindIP: "0.0.0.0", containerPort: p.containerPort, hostPort: hostPort(spec, c.name, p), protocol: "tcp" as const })),
      networkInterfaces: awsvpc && ip !== undefined ? [{ attachmentId: eniId, privateIpv4Address: ip }] : [],
      healthStatus: "UNKNOWN",
      cpu: "0",
    })),
    cpu: definition.spec.cpu,
    createdAt: started,
    desiredStatus: spec.desiredStatus,
    group: spec.group ?? `family:${definition.spec.family}`,
    healthStatus: spec.healthStatus,
    lastStatus: spec.lastStatus,
    launchType: spec.launchType,
    memory: definition.spec.memory,
    ...(spec.launchType === "FARGATE" ? { platformVersion: "1.4.0", platformFamily: "Linux" } : {}),
    startedAt: started,
    ...(spec.startedBy === undefined ? {} : { startedBy: spec.startedBy }),
    ...(withTags ? { tags: tagList(spec.tags) } : {}),
    taskArn: task.arn,
    taskDefinitionArn: definition.arn,
    version: 1,
  };
}

/** The host port of a bridge/host mapping: the task's own binding, the definition's, or a stable "ephemeral" one for 0. */
function hostPort(spec: TaskRecord["spec"], container: string, mapping: { containerPort: number; hostPort?: number | undefined }): number {
  const bound = spec.hostPorts?.[String(mapping.containerPort)];
  if (bound !== undefined) return bound;
  if (mapping.hostPort === undefined) return mapping.containerPort;
  if (mapping.hostPort !== 0) return mapping.hostPort;
  return 32768 + (Number.parseInt(stableId("", `${spec.taskId}/${container}/${mapping.containerPort}`, 8), 16) % 28232);
}

export function renderTaskDefinition(definition: TaskDefinitionRecord): Wire<TaskDefinition> {
  const { spec } = definition;
  const awsvpc = spec.networkMode === "awsvpc";
  return {
    taskDefinitionArn: definition.arn,
    containerDefinitions: spec.containerDefinitions.map((c) => renderContainer(c, awsvpc)),
    family: spec.family,
    networkMode: spec.networkMode,
    revision: spec.revision,
    volumes: [],
    status: "ACTIVE",
    requiresAttributes: [],
    placementConstraints: [],
    compatibilities: awsvpc ? ["EC2", "FARGATE"] : ["EC2"],
    requiresCompatibilities: awsvpc ? ["FARGATE"] : ["EC2"],
    cpu: spec.cpu,
    memory: spec.memory,
    registeredAt: epochSeconds(definition.registeredAt),
  };
}

function renderContainer(c: ContainerSpec, awsvpc: boolean): Wire<ContainerDefinition> {
  return {
    name: c.name,
    image: c.image,
    cpu: 0,
    essential: true,
    // In awsvpc mode the host port always equals the container port.
    portMappings: c.portMappings.map((p) => ({
      containerPort: p.containerPort,
      hostPort: awsvpc ? p.containerPort : (p.hostPort ?? 0),
      protocol: "tcp",
      ...(p.name === undefined ? {} : { name: p.name }),
    })),
    environment: [],
    mountPoints: [],
    volumesFrom: [],
    dockerLabels: { ...c.dockerLabels },
  };
}
