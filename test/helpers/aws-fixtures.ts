// Stateful fakes of the AWS APIs cloudmap-sd calls, built on aws-sdk-client-mock: the real SDK
// clients and command classes, an in-memory estate behind them, call counts per command, and
// failures injected per operation and per namespace/service. Tests change the estate between
// cycles the way ECS would (register, deregister, retag) and assert what the sidecar reads.
import {
  ClientException,
  ClusterNotFoundException,
  DescribeTaskDefinitionCommand,
  type DescribeTaskDefinitionCommandInput,
  DescribeTasksCommand,
  type DescribeTasksCommandInput,
  type DescribeTasksCommandOutput,
  ECSClient,
  type Task,
  type TaskDefinition,
} from "@aws-sdk/client-ecs";
import {
  DiscoverInstancesCommand,
  type DiscoverInstancesCommandInput,
  DiscoverInstancesRevisionCommand,
  type DiscoverInstancesRevisionCommandInput,
  ListNamespacesCommand,
  type ListNamespacesCommandInput,
  ListServicesCommand,
  type ListServicesCommandInput,
  ListTagsForResourceCommand,
  type ListTagsForResourceCommandInput,
  NamespaceNotFound,
  RequestLimitExceeded,
  ServiceDiscoveryClient,
  ServiceNotFound,
} from "@aws-sdk/client-servicediscovery";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { type CallContext, type CallRecorder, noopRecorder } from "../../src/aws/call.js";

export const ACCOUNT = "123456789012";
export const REGION = "eu-west-1";
/** Static fake credentials, so no test ever looks for real ones in the environment. */
export const TEST_CREDENTIALS = {
  accessKeyId: "AKIDTESTONLY0000CMSD",
  secretAccessKey: "cmsd-test-secret-DO-NOT-LOG-0123456789abcdef",
} as const;
export const clientConfig = { region: REGION, credentials: TEST_CREDENTIALS };

export type NamespaceType = "DNS_PRIVATE" | "DNS_PUBLIC" | "HTTP";
export type HealthStatus = "HEALTHY" | "UNHEALTHY" | "UNKNOWN";

export interface FakeInstance {
  id: string;
  attributes: Record<string, string>;
  healthStatus?: HealthStatus;
}

export interface FakeService {
  readonly id: string;
  readonly name: string;
  readonly arn: string;
  readonly namespace: FakeNamespace;
  tags: Record<string, string>;
  instances: FakeInstance[];
  /** Moves on register/deregister/attribute change, like Cloud Map's InstancesRevision; not on health. */
  revision: number;
}

export interface FakeNamespace {
  readonly id: string;
  readonly name: string;
  readonly type: NamespaceType;
  readonly httpName: string;
  services: FakeService[];
}

/** The attributes ECS writes on an awsvpc task's Cloud Map instance. */
export function ecsAttributes(ip: string, overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const merged: Record<string, string | undefined> = {
    AWS_INSTANCE_IPV4: ip,
    AWS_INSTANCE_PORT: "8080",
    AVAILABILITY_ZONE: "eu-west-1a",
    ECS_CLUSTER_NAME: "prod",
    ECS_SERVICE_NAME: "web",
    ECS_TASK_DEFINITION_FAMILY: "web",
    REGION,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined)) as Record<string, string>;
}

type Operation =
  | "ListNamespaces"
  | "ListServices"
  | "ListTagsForResource"
  | "DiscoverInstances"
  | "DiscoverInstancesRevision";

/**
 * An in-memory Cloud Map behind `mockClient(ServiceDiscoveryClient)`. List calls page by
 * `pageSize` and apply the server-side filters cloudmap-sd sends; DiscoverInstances applies
 * HealthStatus. Call `restore()` in afterEach.
 */
export class FakeCloudMap {
  readonly mock: AwsClientStub<ServiceDiscoveryClient> = mockClient(ServiceDiscoveryClient);
  readonly namespaces: FakeNamespace[] = [];
  pageSize = 2;
  /** Awaited inside every call, e.g. to hold calls open while counting how many run at once. */
  latency: () => Promise<void> = async () => {};
  inFlight = 0;
  maxInFlight = 0;
  private readonly failures = new Map<string, Error>();
  private readonly empty = new Set<string>();
  private readonly hung = new Set<string>();
  private nextId = 1;

  constructor() {
    this.mock.on(ListNamespacesCommand).callsFake((input: ListNamespacesCommandInput) =>
      this.call("ListNamespaces", undefined, () => {
        const filter = input.Filters?.find((f) => f.Name === "NAME");
        const matching = this.namespaces.filter((ns) => !filter || filter.Values?.includes(ns.name));
        const { items, next } = this.page(matching, input.NextToken);
        return {
          Namespaces: items.map((ns) => ({
            Id: ns.id,
            Arn: `arn:aws:servicediscovery:${REGION}:${ACCOUNT}:namespace/${ns.id}`,
            Name: ns.name,
            Type: ns.type,
            Properties: {
              HttpProperties: { HttpName: ns.httpName },
              ...(ns.type === "HTTP" ? {} : { DnsProperties: { HostedZoneId: "Z0123" } }),
            },
          })),
          NextToken: next,
        };
      }),
    );
    this.mock.on(ListServicesCommand).callsFake((input: ListServicesCommandInput) => {
      const filter = input.Filters?.find((f) => f.Name === "NAMESPACE_ID");
      const namespaces = this.namespaces.filter((ns) => !filter || filter.Values?.includes(ns.id));
      return this.call("ListServices", namespaces[0]?.name, () => {
        const { items, next } = this.page(
          namespaces.flatMap((ns) => ns.services),
          input.NextToken,
        );
        return {
          Services: items.map((s) => ({ Id: s.id, Arn: s.arn, Name: s.name, Type: "HTTP", InstanceCount: s.instances.length })),
          NextToken: next,
        };
      });
    });
    this.mock.on(ListTagsForResourceCommand).callsFake((input: ListTagsForResourceCommandInput) => {
      const service = this.allServices().find((s) => s.arn === input.ResourceARN);
      return this.call("ListTagsForResource", service?.name, () => {
        if (!service) throw new ServiceNotFound({ message: `no service ${input.ResourceARN}`, $metadata: {} });
        return { Tags: Object.entries(service.tags).map(([Key, Value]) => ({ Key, Value })) };
      });
    });
    this.mock.on(DiscoverInstancesCommand).callsFake((input: DiscoverInstancesCommandInput) => {
      const service = this.findByHttpName(input.NamespaceName, input.ServiceName);
      return this.call("DiscoverInstances", input.ServiceName, () => {
        const found = this.resolve(service, input.NamespaceName);
        const healthy = found.instances.filter((i) => (i.healthStatus ?? "HEALTHY") === "HEALTHY");
        const unhealthy = found.instances.filter((i) => i.healthStatus === "UNHEALTHY");
        const selected =
          input.HealthStatus === "HEALTHY"
            ? healthy
            : input.HealthStatus === "UNHEALTHY"
              ? unhealthy
              : input.HealthStatus === "HEALTHY_OR_ELSE_ALL" && healthy.length > 0
                ? healthy
                : found.instances;
        return {
          Instances: selected.slice(0, input.MaxResults ?? 100).map((i) => ({
            InstanceId: i.id,
            NamespaceName: found.namespace.httpName,
            ServiceName: found.name,
            HealthStatus: i.healthStatus ?? "HEALTHY",
            Attributes: { ...i.attributes },
          })),
          InstancesRevision: found.revision,
        };
      });
    });
    this.mock.on(DiscoverInstancesRevisionCommand).callsFake((input: DiscoverInstancesRevisionCommandInput) => {
      const service = this.findByHttpName(input.NamespaceName, input.ServiceName);
      return this.call("DiscoverInstancesRevision", input.ServiceName, () => ({
        InstancesRevision: this.resolve(service, input.NamespaceName).revision,
      }));
    });
  }

  addNamespace(name: string, type: NamespaceType = "DNS_PRIVATE", httpName = name): FakeNamespace {
    const namespace: FakeNamespace = { id: `ns-${String(this.nextId++).padStart(16, "0")}`, name, type, httpName, services: [] };
    this.namespaces.push(namespace);
    return namespace;
  }

  addService(
    namespace: FakeNamespace,
    name: string,
    tags: Record<string, string> = { METRICS_PATH: "/metrics" },
    instances: FakeInstance[] = [],
  ): FakeService {
    const id = `srv-${String(this.nextId++).padStart(16, "0")}`;
    const service: FakeService = {
      id,
      name,
      arn: `arn:aws:servicediscovery:${REGION}:${ACCOUNT}:service/${id}`,
      namespace,
      tags,
      instances,
      revision: 1,
    };
    namespace.services.push(service);
    return service;
  }

  removeService(service: FakeService): void {
    service.namespace.services = service.namespace.services.filter((s) => s !== service);
  }

  register(service: FakeService, instance: FakeInstance): void {
    service.instances = [...service.instances.filter((i) => i.id !== instance.id), instance];
    service.revision++;
  }

  deregister(service: FakeService, instanceId: string): void {
    service.instances = service.instances.filter((i) => i.id !== instanceId);
    service.revision++;
  }

  /** Makes `operation` fail for one namespace or service name (every one when `key` is omitted). */
  fail(operation: Operation, key = "*", error: Error = throttled()): void {
    this.failures.set(`${operation} ${key}`, error);
  }

  heal(operation?: Operation, key = "*"): void {
    if (operation === undefined) {
      this.failures.clear();
      this.empty.clear();
      this.hung.clear();
    } else {
      this.failures.delete(`${operation} ${key}`);
      this.empty.delete(`${operation} ${key}`);
      this.hung.delete(`${operation} ${key}`);
    }
  }

  /** Makes `operation` answer `{}` (an empty 200 body as the SDK parses it) for one name or all. */
  answerEmpty(operation: Operation, key = "*"): void {
    this.empty.add(`${operation} ${key}`);
  }

  /** Makes `operation` never answer (until its abort signal, as a real socket would) for one name or all. */
  hang(operation: Operation, key = "*"): void {
    this.hung.add(`${operation} ${key}`);
  }

  /** Calls sent so far, per command class. */
  count(command: Parameters<AwsClientStub<ServiceDiscoveryClient>["commandCalls"]>[0]): number {
    return this.mock.commandCalls(command).length;
  }

  /** Every call count by command name, for assertions that read as a table. */
  counts(): Record<Operation, number> {
    return {
      ListNamespaces: this.count(ListNamespacesCommand),
      ListServices: this.count(ListServicesCommand),
      ListTagsForResource: this.count(ListTagsForResourceCommand),
      DiscoverInstances: this.count(DiscoverInstancesCommand),
      DiscoverInstancesRevision: this.count(DiscoverInstancesRevisionCommand),
    };
  }

  /** Forgets the calls sent so far (not the estate). */
  resetHistory(): void {
    this.mock.resetHistory();
  }

  restore(): void {
    this.mock.restore();
  }

  private allServices(): FakeService[] {
    return this.namespaces.flatMap((ns) => ns.services);
  }

  private findByHttpName(namespaceName: string | undefined, serviceName: string | undefined): FakeService | undefined {
    return this.allServices().find((s) => s.namespace.httpName === namespaceName && s.name === serviceName);
  }

  private resolve(service: FakeService | undefined, namespaceName: string | undefined): FakeService {
    if (service) return service;
    if (!this.namespaces.some((ns) => ns.httpName === namespaceName)) {
      throw new NamespaceNotFound({ message: `Namespace ${namespaceName} not found`, $metadata: {} });
    }
    throw new ServiceNotFound({ message: "Service not found", $metadata: {} });
  }

  private async call<T>(operation: Operation, key: string | undefined, respond: () => T): Promise<T> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.latency();
      const failure = this.failures.get(`${operation} ${key}`) ?? this.failures.get(`${operation} *`);
      if (failure) throw failure;
      if (this.hung.has(`${operation} ${key}`) || this.hung.has(`${operation} *`)) await new Promise<never>(() => {});
      if (this.empty.has(`${operation} ${key}`) || this.empty.has(`${operation} *`)) return {} as T;
      return respond();
    } finally {
      this.inFlight--;
    }
  }

  private page<T>(items: readonly T[], token: string | undefined): { items: T[]; next: string | undefined } {
    const start = token === undefined ? 0 : Number(token.replace("page-", ""));
    const end = start + this.pageSize;
    return { items: items.slice(start, end), next: end < items.length ? `page-${end}` : undefined };
  }
}

/** Cloud Map's throttling error, as the SDK raises it once its retries are spent. */
export function throttled(message = "Rate exceeded"): RequestLimitExceeded {
  return new RequestLimitExceeded({ message, $metadata: { httpStatusCode: 400 } });
}

export function taskArn(taskId: string, cluster = "prod"): string {
  return `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${cluster}/${taskId}`;
}

export function taskDefinitionArn(family: string, revision: number): string {
  return `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:${revision}`;
}

/**
 * An in-memory ECS behind `mockClient(ECSClient)`: DescribeTasks answers the tasks it knows and
 * reports the others as MISSING (as ECS does for tasks stopped long ago); DescribeTaskDefinition
 * answers known ARNs. `failDescribeTasks` makes every DescribeTasks call fail; `failCluster` one
 * cluster's; `deleteCluster` makes ECS answer ClusterNotFoundException for it; `failTask` reports
 * a task in `failures` with another reason than MISSING; `answerDescribeTasks` replaces one
 * cluster's answer with a raw body (e.g. `{}`, as a proxy might return).
 */
export class FakeEcs {
  readonly mock: AwsClientStub<ECSClient> = mockClient(ECSClient);
  /** cluster → task id → task. */
  readonly tasks = new Map<string, Map<string, Task>>();
  readonly definitions = new Map<string, TaskDefinition>();
  failDescribeTasks: Error | undefined;
  failDescribeTaskDefinition: Error | undefined;
  private readonly clusterFailures = new Map<string, Error>();
  private readonly deletedClusters = new Set<string>();
  /** cluster + "/" + task id → failure reason other than MISSING. */
  private readonly taskFailures = new Map<string, string>();
  private readonly rawAnswers = new Map<string, Partial<DescribeTasksCommandOutput>>();

  constructor() {
    this.mock.on(DescribeTasksCommand).callsFake(async (input: DescribeTasksCommandInput) => {
      const cluster = input.cluster ?? "default";
      const failure = this.failDescribeTasks ?? this.clusterFailures.get(cluster);
      if (failure) throw failure;
      if (this.deletedClusters.has(cluster)) throw new ClusterNotFoundException({ message: "Cluster not found.", $metadata: {} });
      const raw = this.rawAnswers.get(cluster);
      if (raw) return raw;
      const known = this.tasks.get(cluster) ?? new Map<string, Task>();
      const ids = input.tasks ?? [];
      const reasonFor = (id: string) => this.taskFailures.get(`${cluster}/${id}`) ?? (known.has(id) ? undefined : "MISSING");
      return {
        tasks: ids.flatMap((id) => {
          const task = known.get(id);
          return task && reasonFor(id) === undefined ? [task] : [];
        }),
        failures: ids.flatMap((id) => {
          const reason = reasonFor(id);
          return reason === undefined ? [] : [{ arn: taskArn(id, input.cluster), reason }];
        }),
      };
    });
    this.mock.on(DescribeTaskDefinitionCommand).callsFake(async (input: DescribeTaskDefinitionCommandInput) => {
      if (this.failDescribeTaskDefinition) throw this.failDescribeTaskDefinition;
      const definition = this.definitions.get(input.taskDefinition ?? "");
      if (!definition) throw new ClientException({ message: "Unable to describe task definition.", $metadata: {} });
      return { taskDefinition: definition, tags: [] };
    });
  }

  /** A running Fargate task of `cluster`, using task definition `family:revision`. */
  addTask(cluster: string, taskId: string, options: { family?: string; revision?: number; tags?: Record<string, string> } = {}): Task {
    const task: Task = {
      taskArn: taskArn(taskId, cluster),
      clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${cluster}`,
      taskDefinitionArn: taskDefinitionArn(options.family ?? "web", options.revision ?? 7),
      launchType: "FARGATE",
      availabilityZone: "eu-west-1a",
      group: `service:${options.family ?? "web"}`,
      lastStatus: "RUNNING",
      desiredStatus: "RUNNING",
      tags: Object.entries(options.tags ?? {}).map(([key, value]) => ({ key, value })),
    };
    const tasks = this.tasks.get(cluster) ?? new Map<string, Task>();
    tasks.set(taskId, task);
    this.tasks.set(cluster, tasks);
    return task;
  }

  addDefinition(family: string, revision: number, dockerLabels: Record<string, string>): TaskDefinition {
    const definition: TaskDefinition = {
      taskDefinitionArn: taskDefinitionArn(family, revision),
      family,
      revision,
      containerDefinitions: [{ name: "app", image: "app:latest", dockerLabels }],
    };
    this.definitions.set(definition.taskDefinitionArn as string, definition);
    return definition;
  }

  /** Makes DescribeTasks fail for one cluster (`undefined` heals it). */
  failCluster(cluster: string, error: Error | undefined): void {
    if (error) this.clusterFailures.set(cluster, error);
    else this.clusterFailures.delete(cluster);
  }

  /** ECS forgets the cluster: DescribeTasks answers ClusterNotFoundException until `createCluster`. */
  deleteCluster(cluster: string): void {
    this.deletedClusters.add(cluster);
  }

  createCluster(cluster: string): void {
    this.deletedClusters.delete(cluster);
  }

  /** Reports the task in `failures` with `reason` (`undefined`: answer it normally again). */
  failTask(cluster: string, taskId: string, reason: string | undefined): void {
    if (reason === undefined) this.taskFailures.delete(`${cluster}/${taskId}`);
    else this.taskFailures.set(`${cluster}/${taskId}`, reason);
  }

  /** Answers DescribeTasks for `cluster` with this body as it is (`undefined`: the estate again). */
  answerDescribeTasks(cluster: string, output: Partial<DescribeTasksCommandOutput> | undefined): void {
    if (output) this.rawAnswers.set(cluster, output);
    else this.rawAnswers.delete(cluster);
  }

  restore(): void {
    this.mock.restore();
  }
}

/** A CallContext for tests: counts nowhere (or into `recorder`), generous timeout. */
export function callContext(recorder: CallRecorder = noopRecorder, timeoutMs = 10_000): CallContext {
  return { recorder, timeoutMs };
}
