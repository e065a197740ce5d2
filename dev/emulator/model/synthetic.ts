import { stableId } from "./ids.js";
import { type NamespaceSpec, type ServiceSpec, type TaskDefinitionSpec, type TaskSpec, type Topology, trustTopology } from "./topology.js";

export interface SyntheticOptions {
  readonly namespaces?: number;
  readonly servicesPerNamespace?: number;
  readonly instancesPerService?: number;
  /** Also emit a task definition per service and a task per instance (task id = instance id). */
  readonly withEcs?: boolean;
  /** Mark every n-th instance UNHEALTHY (0: all healthy). */
  readonly unhealthyEvery?: number;
  readonly region?: string;
  readonly accountId?: string;
}

const NAMESPACES_PARAMETER = "ECS-ServiceDiscovery-Namespaces";

/**
 * A deterministic estate of any size, already in validated form (no parsing cost), shaped like what
 * ECS writes into Cloud Map: even namespaces are private DNS, odd ones HTTP (Service Connect).
 * Every 10th service has no METRICS_* tags; every 5th also has ECS_METRICS_* infra tags.
 * 5 × 100 × 20 = 10,000 instances builds in tens of milliseconds.
 */
export function syntheticTopology(options: SyntheticOptions = {}): Topology {
  const {
    namespaces: namespaceCount = 5,
    servicesPerNamespace = 100,
    instancesPerService = 20,
    withEcs = true,
    unhealthyEvery = 0,
    region = "us-east-1",
    accountId = "123456789012",
  } = options;
  const namespaces: NamespaceSpec[] = [];
  const taskDefinitions: TaskDefinitionSpec[] = [];
  const tasks: TaskSpec[] = [];
  const clusters: string[] = [];
  let instanceSeq = 0;

  for (let n = 0; n < namespaceCount; n++) {
    const nsName = `synthetic-${n}`;
    const cluster = `cluster-${n}`;
    clusters.push(cluster);
    const services: ServiceSpec[] = [];
    for (let s = 0; s < servicesPerNamespace; s++) {
      const svcName = `svc-${n}-${s}`;
      const family = `task-${n}-${s}`;
      const service: ServiceSpec = { name: svcName, healthCheck: true, tags: serviceTags(s), attributes: {}, instances: [] };
      for (let i = 0; i < instancesPerService; i++) {
        const k = s * instancesPerService + i;
        const id = stableId("", `${nsName}/${svcName}/${i}`, 32);
        const ip = `10.${n % 256}.${(k >> 8) & 255}.${k & 255}`;
        const az = `${region}${"abc"[k % 3]}`;
        instanceSeq += 1;
        service.instances.push({
          id,
          health: unhealthyEvery > 0 && instanceSeq % unhealthyEvery === 0 ? "UNHEALTHY" : "HEALTHY",
          attributes: {
            AWS_INSTANCE_IPV4: ip,
            AWS_INSTANCE_PORT: "8080",
            AVAILABILITY_ZONE: az,
            REGION: region,
            ECS_CLUSTER_NAME: cluster,
            ECS_SERVICE_NAME: svcName,
            ECS_TASK_DEFINITION_FAMILY: family,
          },
        });
        if (withEcs) tasks.push(syntheticTask(cluster, id, family, svcName, az, ip));
      }
      services.push(service);
      if (withEcs) taskDefinitions.push(syntheticTaskDefinition(family));
    }
    namespaces.push({ name: nsName, type: n % 2 === 0 ? "DNS_PRIVATE" : "HTTP", tags: {}, sharedWith: [], consumersReadTags: false, services });
  }

  return trustTopology({
    region,
    accountId,
    accessKeys: {},
    roles: [],
    namespaces,
    parameters: {
      [NAMESPACES_PARAMETER]: { type: "StringList", value: namespaces.map((ns) => ns.name).join(","), dataType: "text" },
    },
    ecs: withEcs ? { clusters, taskDefinitions, tasks } : { clusters: [], taskDefinitions: [], tasks: [] },
  });
}

function serviceTags(s: number): Record<string, string> {
  if (s % 10 === 9) return {};
  const tags: Record<string, string> = { METRICS_PATH: "/metrics", METRICS_PORT: "8080" };
  if (s % 5 === 0) Object.assign(tags, { ECS_METRICS_PATH: "/stats/prometheus", ECS_METRICS_PORT: "9901" });
  return tags;
}

function syntheticTaskDefinition(family: string): TaskDefinitionSpec {
  return {
    family,
    revision: 1,
    networkMode: "awsvpc",
    cpu: "256",
    memory: "512",
    containerDefinitions: [
      {
        name: "app",
        image: "public.ecr.aws/docker/library/busybox:latest",
        dockerLabels: { PROMETHEUS_EXPORTER_PORT: "8080", PROMETHEUS_EXPORTER_PATH: "/metrics" },
        portMappings: [{ containerPort: 8080 }],
      },
    ],
    tags: { team: "synthetic" },
  };
}

function syntheticTask(cluster: string, taskId: string, family: string, service: string, az: string, ip: string): TaskSpec {
  return {
    cluster,
    taskId,
    taskDefinition: `${family}:1`,
    launchType: "FARGATE",
    availabilityZone: az,
    group: `service:${service}`,
    lastStatus: "RUNNING",
    desiredStatus: "RUNNING",
    healthStatus: "HEALTHY",
    privateIpv4Address: ip,
    startedBy: "ecs-svc/synthetic",
    tags: { "aws:ecs:serviceName": service, "aws:ecs:clusterName": cluster },
  };
}
