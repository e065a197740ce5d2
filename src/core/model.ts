/**
 * The discovered state that the pure core reasons about. Raw AWS responses are turned into
 * these plain values at the edge (src/aws), so nothing here knows about the SDK.
 */

export type NamespaceType = "DNS_PRIVATE" | "DNS_PUBLIC" | "HTTP";

export interface Namespace {
  readonly id: string;
  readonly name: string;
  readonly type: NamespaceType | string;
  /** DiscoverInstances addresses a namespace by its HTTP name, which ECS sets equal to the name. */
  readonly httpName: string;
  /**
   * The namespace's ARN: a namespace shared through AWS RAM is addressed by its ARN only (the
   * ListServices filter, GetNamespace). Absent when the API did not return it.
   */
  readonly arn?: string;
  /** ResourceOwner: the account that owns the namespace (another account's for a shared one). */
  readonly owner?: string;
  /** Owned by another account than the one cloudmap-sd runs in (shared with it through AWS RAM). */
  readonly shared?: boolean;
}

export interface Service {
  readonly id: string;
  readonly arn: string;
  readonly name: string;
  readonly namespace: Namespace;
  /** CreatedByAccount: in a shared namespace, a consumer account may create services. */
  readonly createdBy?: string;
  /**
   * Whether Cloud Map checks its instances' health (a Route 53 HealthCheckConfig or a
   * HealthCheckCustomConfig). Absent when ListServices' summary does not say (an older endpoint, a
   * cut-short summary): unknown counts as checked.
   */
  readonly healthChecked?: boolean;
}

export interface Instance {
  readonly id: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly healthStatus?: string;
}

/** What ECS adds about one task (an instance whose id is an ECS task id). */
export interface EcsTask {
  readonly taskArn: string;
  readonly clusterArn?: string;
  readonly taskDefinitionArn?: string;
  readonly launchType?: string;
  readonly availabilityZone?: string;
  readonly group?: string;
  readonly lastStatus?: string;
  readonly desiredStatus?: string;
  readonly healthStatus?: string;
  readonly containerInstanceArn?: string;
  readonly tags: Readonly<Record<string, string>>;
  /**
   * Host ports of bridge and host tasks (DescribeTasks containers[].networkBindings). Undefined for
   * awsvpc tasks, whose containers listen on the task's own address.
   */
  readonly portBindings?: readonly PortBinding[];
}

/** One container port published on the host: what a bridge-mode target is scraped on. */
export interface PortBinding {
  readonly container: string;
  readonly containerPort: number;
  readonly hostPort: number;
}

/** The part of an immutable ECS task-definition revision that we use: docker labels per container. */
export interface EcsTaskDefinition {
  readonly arn: string;
  readonly family: string;
  readonly revision: number;
  /** awsvpc, bridge, host or none; absent when ECS did not say (ECS's default is bridge on EC2). */
  readonly networkMode?: string;
  readonly containers: ReadonlyArray<{ readonly name: string; readonly dockerLabels: Readonly<Record<string, string>> }>;
}

/** One Cloud Map service with everything known about it: the unit the core turns into target groups. */
export interface ServiceSnapshot {
  readonly service: Service;
  readonly tags: Readonly<Record<string, string>>;
  /** Cloud Map service attributes (GetServiceAttributes); absent when not read. */
  readonly serviceAttributes?: Readonly<Record<string, string>>;
  readonly instances: readonly Instance[];
  /** Keyed by instance id (= ECS task id). Absent when enrichment is off or has not succeeded yet. */
  readonly ecsTasks?: ReadonlyMap<string, EcsTask>;
  /** Keyed by task-definition ARN. */
  readonly ecsTaskDefinitions?: ReadonlyMap<string, EcsTaskDefinition>;
}

/** A Prometheus file_sd / http_sd target group. */
export interface TargetGroup {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}
