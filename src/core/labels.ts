/**
 * The label contract. Changing a name here is a breaking change for users' relabel rules.
 * Plain labels keep the earlier Go sidecar's names (cluster, service, taskdefinition) so its
 * dashboards keep working; everything else is a __meta_* label that Prometheus drops after
 * relabeling unless the user keeps it. ECS facts reuse Prometheus' own ecs_sd names.
 */
export const Label = {
  address: "__address__",
  metricsPath: "__metrics_path__",
  scheme: "__scheme__",
  job: "job",
  cluster: "cluster",
  service: "service",
  taskDefinition: "taskdefinition",
  namespace: "namespace",
  taskId: "taskid",

  namespaceName: "__meta_cloudmap_namespace_name",
  namespaceId: "__meta_cloudmap_namespace_id",
  namespaceType: "__meta_cloudmap_namespace_type",
  serviceName: "__meta_cloudmap_service_name",
  serviceId: "__meta_cloudmap_service_id",
  instanceId: "__meta_cloudmap_instance_id",
  instanceHealth: "__meta_cloudmap_instance_health_status",
  endpoint: "__meta_cloudmap_endpoint",
  attributePrefix: "__meta_cloudmap_attribute_",
  tagPrefix: "__meta_cloudmap_tag_",
  // Only in a file whose targets span more than one account (see accountLabels in target-groups.ts).
  namespaceOwner: "__meta_cloudmap_namespace_owner",
  serviceCreatorAccount: "__meta_cloudmap_service_creator_account",
  region: "__meta_cloudmap_region",
  serviceAttributePrefix: "__meta_cloudmap_service_attribute_",

  ecsTaskArn: "__meta_ecs_task_arn",
  ecsClusterArn: "__meta_ecs_cluster_arn",
  ecsTaskDefinition: "__meta_ecs_task_definition",
  ecsTaskDefinitionRevision: "__meta_ecs_task_definition_revision",
  ecsLaunchType: "__meta_ecs_launch_type",
  ecsAvailabilityZone: "__meta_ecs_availability_zone",
  ecsTaskGroup: "__meta_ecs_task_group",
  ecsContainerInstanceArn: "__meta_ecs_container_instance_arn",
  ecsContainerName: "__meta_ecs_container_name",
  ecsTaskTagPrefix: "__meta_ecs_tag_task_",
} as const;

/**
 * LABEL_NAMING: the names of the plain labels (those kept after relabeling without any rule).
 * `legacy` keeps the earlier Go sidecar's names. They collide: `cluster` overrides the external
 * label `cluster` that AMP deduplicates HA pairs by (so shards of one ECS cluster look like
 * replicas of each other and AMP drops all but one), and `namespace` and `service` clash with many
 * exporters' own labels (which Prometheus then renames exported_*). `ecs` names collide with nothing.
 */
export type LabelNaming = "legacy" | "ecs";

export interface PlainLabelNames {
  readonly cluster: string;
  readonly service: string;
  readonly taskDefinitionFamily: string;
  readonly namespace: string;
  readonly taskId: string;
}

export const PLAIN_LABELS: Readonly<Record<LabelNaming, PlainLabelNames>> = {
  legacy: { cluster: Label.cluster, service: Label.service, taskDefinitionFamily: Label.taskDefinition, namespace: Label.namespace, taskId: Label.taskId },
  ecs: {
    cluster: "ecs_cluster",
    service: "ecs_service",
    taskDefinitionFamily: "ecs_task_definition_family",
    namespace: "cloudmap_namespace",
    taskId: "ecs_task_id",
  },
};

/**
 * Prometheus' own ECS discovery (aws_sd_configs, role ecs, Prometheus 3.8+: discovery/aws/ecs.go)
 * names for facts cloudmap-sd also knows, emitted with LABEL_NAMING=ecs so relabel rules written
 * for it carry over. The other __meta_ecs_* names above already are upstream's (or, for the task
 * definition revision and the container name, cloudmap-sd's own: upstream has neither).
 */
export const UpstreamEcsLabel = {
  cluster: "__meta_ecs_cluster",
  service: "__meta_ecs_service",
  ipAddress: "__meta_ecs_ip_address",
} as const;

/** Prometheus label names match [a-zA-Z_][a-zA-Z0-9_]*; the prefix already supplies the first rune. */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, "_");
}
