import {
  endpointsFor,
  endpointsFromDockerLabels,
  parsePort,
  type ScrapeEndpoint,
  type SkipReason,
} from "./endpoints.js";
import { AddressAttribute, instanceHost } from "./address.js";
import { Label, type LabelNaming, PLAIN_LABELS, sanitizeLabelName, UpstreamEcsLabel } from "./labels.js";
import { renderGroupLine } from "./render.js";
import type { EcsTask, Instance, ServiceSnapshot, TargetGroup } from "./model.js";

/** Attributes ECS writes on every instance it registers in Cloud Map. */
export const Attribute = {
  ipv4: AddressAttribute.ipv4,
  ipv6: AddressAttribute.ipv6,
  port: "AWS_INSTANCE_PORT",
  cluster: "ECS_CLUSTER_NAME",
  service: "ECS_SERVICE_NAME",
  taskDefinitionFamily: "ECS_TASK_DEFINITION_FAMILY",
} as const;

const DEFAULT_PORT = 80;
const STOPPED_TASK_STATUSES = new Set(["DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED", "DELETED"]);

export interface BuildOptions {
  /** Leave out tasks that ECS reports as stopping or stopped. */
  readonly dropStoppedTasks?: boolean;
  /** The plain labels' names (LABEL_NAMING); legacy by default. */
  readonly labelNaming?: LabelNaming;
}

export interface Skip {
  readonly reason: SkipReason;
  readonly namespace: string;
  readonly service: string;
  readonly detail: string;
}

export interface BuildResult {
  readonly groups: TargetGroup[];
  readonly skips: Skip[];
}

/** Turns discovered state into sorted target groups: one group per scrape endpoint per instance. */
export function buildTargetGroups(snapshots: readonly ServiceSnapshot[], options: BuildOptions = {}): BuildResult {
  const groups: TargetGroup[] = [];
  const skips: Skip[] = [];
  for (const snapshot of snapshots) {
    const skip = (reason: SkipReason, detail: string) =>
      skips.push({ reason, namespace: snapshot.service.namespace.name, service: snapshot.service.name, detail });
    const { plan } = endpointsFor(snapshot.tags, snapshot.serviceAttributes);
    if (plan.kind === "invalid") {
      skip(plan.reason, plan.detail);
      continue;
    }
    if (plan.kind === "untagged" && snapshot.ecsTaskDefinitions === undefined) continue;

    for (const instance of snapshot.instances) {
      const task = snapshot.ecsTasks?.get(instance.id);
      const endpoints = plan.kind === "tagged" ? plan.endpoints : dockerLabelEndpoints(snapshot, task, skip);
      if (endpoints.length === 0) continue;
      const host = instanceHost(instance.attributes);
      if (host === undefined) {
        skip("missing_address", `instance ${instance.id} has neither ${AddressAttribute.ipv4} nor ${AddressAttribute.ipv6}`);
        continue;
      }
      if (options.dropStoppedTasks && task?.lastStatus && STOPPED_TASK_STATUSES.has(task.lastStatus)) {
        skip("ecs_task_stopped", `task ${task.taskArn} is ${task.lastStatus}`);
        continue;
      }
      const common = instanceLabels(snapshot, instance, task, options.labelNaming ?? "legacy");
      for (const endpoint of endpoints) {
        const port = endpoint.port ?? instancePort(instance);
        if (port === undefined) {
          skip("invalid_instance_port", `instance ${instance.id} has ${Attribute.port}=${JSON.stringify(instance.attributes[Attribute.port])}`);
          continue;
        }
        groups.push({ targets: [`${host}:${port}`], labels: { ...common, ...endpointLabels(endpoint) } });
      }
    }
  }
  return { groups: sortCanonically(groups, targetKey, renderGroupLine), skips };
}

function dockerLabelEndpoints(
  snapshot: ServiceSnapshot,
  task: EcsTask | undefined,
  skip: (reason: SkipReason, detail: string) => void,
): readonly ScrapeEndpoint[] {
  const definition = task?.taskDefinitionArn ? snapshot.ecsTaskDefinitions?.get(task.taskDefinitionArn) : undefined;
  if (!definition) return [];
  const { endpoints, invalid } = endpointsFromDockerLabels(definition.containers);
  for (const bad of invalid) skip("invalid_docker_label", `${definition.arn} container ${bad.container}: ${bad.detail}`);
  // DescribeTaskDefinition omits networkMode when the definition did not set it, and on EC2 Linux
  // ECS then runs it in bridge mode: host port bindings tell such a task from an awsvpc one.
  const networkMode = definition.networkMode ?? ((task?.portBindings?.length ?? 0) > 0 ? "bridge" : undefined);
  if (!publishesOnHost(networkMode) || task === undefined) return endpoints;
  return hostPortEndpoints(endpoints, task, networkMode, skip);
}

/**
 * bridge and host tasks share the host's address (the one ECS registers in Cloud Map): a docker
 * label names the container's port, which is reached through the host port ECS bound it to. In
 * host mode the container listens on the host itself, so an unbound port is that port; in bridge
 * mode an unbound port cannot be reached at all.
 */
function hostPortEndpoints(
  endpoints: readonly ScrapeEndpoint[],
  task: EcsTask,
  networkMode: string | undefined,
  skip: (reason: SkipReason, detail: string) => void,
): ScrapeEndpoint[] {
  const reachable: ScrapeEndpoint[] = [];
  for (const endpoint of endpoints) {
    const binding = task.portBindings?.find((b) => b.container === endpoint.container && b.containerPort === endpoint.port);
    if (binding) reachable.push({ ...endpoint, port: binding.hostPort });
    else if (networkMode === "host") reachable.push(endpoint);
    else skip("no_host_port", `task ${task.taskArn} container ${endpoint.container} does not publish port ${endpoint.port} on its host (bridge network mode)`);
  }
  return reachable;
}

/**
 * Only when ECS says so, or the task has host port bindings (bridge, the default on EC2 Linux): a
 * definition without a network mode whose task has none keeps the task's own address and the
 * label's port, as before bridge and host tasks were told apart.
 */
function publishesOnHost(networkMode: string | undefined): boolean {
  return networkMode === "bridge" || networkMode === "host";
}

function instancePort(instance: Instance): number | undefined {
  const raw = instance.attributes[Attribute.port];
  return raw === undefined ? DEFAULT_PORT : parsePort(raw);
}

function instanceLabels(snapshot: ServiceSnapshot, instance: Instance, task: EcsTask | undefined, naming: LabelNaming = "legacy"): Record<string, string> {
  const plain = PLAIN_LABELS[naming];
  const { service, tags } = snapshot;
  const attributes = instance.attributes;
  const labels: Record<string, string> = {
    [plain.namespace]: service.namespace.name,
    [plain.taskId]: instance.id,
    [Label.namespaceName]: service.namespace.name,
    [Label.namespaceId]: service.namespace.id,
    [Label.namespaceType]: service.namespace.type,
    [Label.serviceName]: service.name,
    [Label.serviceId]: service.id,
    [Label.instanceId]: instance.id,
  };
  // Optional facts are emitted only when present, so relabeling can tell "absent" from "empty".
  setIfPresent(labels, plain.cluster, attributes[Attribute.cluster]);
  setIfPresent(labels, plain.service, attributes[Attribute.service]);
  setIfPresent(labels, plain.taskDefinitionFamily, attributes[Attribute.taskDefinitionFamily]);
  // Upstream's names only with the new naming: the legacy file stays byte-identical.
  if (naming === "ecs") {
    setIfPresent(labels, UpstreamEcsLabel.cluster, attributes[Attribute.cluster]);
    setIfPresent(labels, UpstreamEcsLabel.service, attributes[Attribute.service]);
    // Registered by ECS: the address is the task's own (awsvpc) or its host's (bridge, host), as upstream's.
    if (attributes[Attribute.cluster] !== undefined) setIfPresent(labels, UpstreamEcsLabel.ipAddress, attributes[Attribute.ipv4]);
  }
  setIfPresent(labels, Label.instanceHealth, instance.healthStatus);
  addSanitized(labels, Label.attributePrefix, attributes);
  addSanitized(labels, Label.tagPrefix, tags);
  if (snapshot.serviceAttributes) addSanitized(labels, Label.serviceAttributePrefix, snapshot.serviceAttributes);
  if (spansAccounts(service)) Object.assign(labels, accountLabels(service));
  if (task) Object.assign(labels, ecsTaskLabels(task));
  return labels;
}

/**
 * Account labels carry information only where accounts differ: a namespace shared by another
 * account, or a service a consumer account created in it. In a single-account estate they would be
 * one constant on every target (which external_labels say better), so they are left out there and
 * the file stays as it was before cross-account discovery existed.
 */
function spansAccounts(service: ServiceSnapshot["service"]): boolean {
  const { namespace, createdBy } = service;
  return namespace.shared === true || (createdBy !== undefined && namespace.owner !== undefined && createdBy !== namespace.owner);
}

function accountLabels(service: ServiceSnapshot["service"]): Record<string, string> {
  const labels: Record<string, string> = {};
  setIfPresent(labels, Label.namespaceOwner, service.namespace.owner);
  setIfPresent(labels, Label.serviceCreatorAccount, service.createdBy);
  // arn:aws:servicediscovery:<region>:<account>:namespace/<id>
  setIfPresent(labels, Label.region, service.namespace.arn?.split(":")[3]);
  return labels;
}

/**
 * Only facts that do not change during a task's life: a task is described once, when it first
 * appears in Cloud Map, so its status (last, desired, health) would be stale labels.
 */
function ecsTaskLabels(task: EcsTask): Record<string, string> {
  const labels: Record<string, string> = { [Label.ecsTaskArn]: task.taskArn };
  setIfPresent(labels, Label.ecsClusterArn, task.clusterArn);
  setIfPresent(labels, Label.ecsTaskDefinition, task.taskDefinitionArn);
  setIfPresent(labels, Label.ecsTaskDefinitionRevision, task.taskDefinitionArn?.match(/:(\d+)$/)?.[1]);
  setIfPresent(labels, Label.ecsLaunchType, task.launchType);
  setIfPresent(labels, Label.ecsAvailabilityZone, task.availabilityZone);
  setIfPresent(labels, Label.ecsTaskGroup, task.group);
  setIfPresent(labels, Label.ecsContainerInstanceArn, task.containerInstanceArn);
  addSanitized(labels, Label.ecsTaskTagPrefix, task.tags);
  return labels;
}

function endpointLabels(endpoint: ScrapeEndpoint): Record<string, string> {
  const labels: Record<string, string> = { [Label.metricsPath]: endpoint.path, [Label.endpoint]: endpoint.kind };
  setIfPresent(labels, Label.scheme, endpoint.scheme);
  setIfPresent(labels, Label.job, endpoint.job);
  setIfPresent(labels, Label.ecsContainerName, endpoint.container);
  return labels;
}

/**
 * Adds a map as prefixed, sanitised labels. Two names can sanitise alike (`a-b`, `a.b`); visiting
 * names in sorted order makes the same one win whatever order AWS returned them in.
 */
function addSanitized(labels: Record<string, string>, prefix: string, values: Readonly<Record<string, string>>): void {
  for (const name of Object.keys(values).sort()) labels[prefixedLabelName(prefix, name)] = values[name] as string;
}

/**
 * `prefix + sanitizeLabelName(name)`, worked out once per name rather than once per target: the
 * same few attribute and tag names recur on every instance, and at 10,000 targets sanitising and
 * concatenating them was a tenth of a cold sync's CPU. Sharing one string per name also keeps the
 * built labels from holding 10,000 copies of each. Bounded: an estate with more distinct names
 * than that just starts over.
 */
function prefixedLabelName(prefix: string, name: string): string {
  let perPrefix = labelNameCache.get(prefix);
  if (perPrefix === undefined) {
    perPrefix = new Map();
    labelNameCache.set(prefix, perPrefix);
  }
  let labelName = perPrefix.get(name);
  if (labelName === undefined) {
    if (perPrefix.size >= LABEL_NAME_CACHE_LIMIT) perPrefix.clear();
    labelName = prefix + sanitizeLabelName(name);
    perPrefix.set(name, labelName);
  }
  return labelName;
}

const LABEL_NAME_CACHE_LIMIT = 10_000;
const labelNameCache = new Map<string, Map<string, string>>();

function setIfPresent(labels: Record<string, string>, name: string, value: string | undefined): void {
  if (value !== undefined && value !== "") labels[name] = value;
}

/** Stable identity of a scrape endpoint, for sorting and diffing. */
export function targetKey(group: TargetGroup): string {
  const labels = group.labels;
  return `${group.targets.join(",")} ${labels[Label.scheme] ?? "http"} ${labels[Label.metricsPath] ?? ""} ${labels[Label.serviceId] ?? ""}`;
}

/**
 * The canonical order: by target key, then by the rendered line. Two groups can share a target
 * key (one address registered under two instance ids: a replaced task not yet deregistered, tasks
 * sharing a host port); Cloud Map returns instances in no fixed order, so without the second key
 * the file would flip between cycles. Keys are computed once per group, not per comparison.
 */
export function sortCanonically<T>(items: T[], keyOf: (item: T) => string, lineOf: (item: T) => string): T[] {
  const decorated: { readonly item: T; readonly key: string; line?: string }[] = items.map((item) => ({ item, key: keyOf(item) }));
  // A line is rendered only for a tie, and at most once: keys almost never tie, and rendering every
  // group to sort it was a third of the building's CPU.
  const lineOfEntry = (entry: (typeof decorated)[number]) => (entry.line ??= lineOf(entry.item));
  decorated.sort((a, b) => compareStrings(a.key, b.key) || compareStrings(lineOfEntry(a), lineOfEntry(b)));
  return decorated.map((entry) => entry.item);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
