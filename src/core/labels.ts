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

/** Prometheus label names match [a-zA-Z_][a-zA-Z0-9_]*; the prefix already supplies the first rune. */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, "_");
}
