import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { TopologyError } from "../protocol/errors.js";

// Attribute, tag and label values are strings on AWS; YAML turns `3000` and `true` into numbers and
// booleans, so scalars are accepted and converted instead of rejected.
const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const stringMap = z.record(z.string().min(1), scalar).default({});

const healthSchema = z.enum(["HEALTHY", "UNHEALTHY", "UNKNOWN"]);

const instanceSchema = z.strictObject({
  id: z.string().min(1).max(64),
  health: healthSchema.default("HEALTHY"),
  attributes: stringMap,
});

const accountSchema = z.string().regex(/^\d{12}$/, "must be 12 digits (quote it in YAML)");

const serviceSchema = z.strictObject({
  name: z.string().min(1),
  /** CreatedByAccount: default the namespace's owner; a consumer of a shared namespace may create services. */
  createdBy: accountSchema.optional(),
  /** Cloud Map service attributes (GetServiceAttributes), at most 30. */
  attributes: z.record(z.string().min(1), scalar).default({}).refine((map) => Object.keys(map).length <= 30, "at most 30 service attributes"),
  id: z.string().min(1).optional(),
  description: z.string().optional(),
  /** ECS-created services carry a custom health check; `false` means none (HealthStatus is ignored). */
  healthCheck: z.boolean().default(true),
  tags: stringMap,
  instances: z.array(instanceSchema).default([]),
});

const namespaceSchema = z.strictObject({
  name: z.string().min(1),
  id: z.string().min(1).optional(),
  type: z.enum(["DNS_PRIVATE", "DNS_PUBLIC", "HTTP"]).default("DNS_PRIVATE"),
  /** What DiscoverInstances takes as NamespaceName; AWS makes it equal to the name. */
  httpName: z.string().min(1).optional(),
  description: z.string().optional(),
  tags: stringMap,
  /** The owning account (ResourceOwner); default: the topology's accountId. */
  owner: accountSchema.optional(),
  /** Accounts the namespace is shared with through AWS RAM. */
  sharedWith: z.array(accountSchema).default([]),
  /** Whether those accounts may ListTagsForResource on its services (AWS does not document it; default: denied). */
  consumersReadTags: z.boolean().default(false),
  services: z.array(serviceSchema).default([]),
});

const roleSchema = z.strictObject({
  /** arn:aws:iam::<account>:role/<name>: what AssumeRole takes. */
  arn: z.string().regex(/^arn:aws:iam::\d{12}:role\/.+$/, "must be arn:aws:iam::<12 digits>:role/<name>"),
  externalId: z.string().min(1).optional(),
  /** AssumeRole answers AccessDenied (the trust policy does not let the caller in). */
  denied: z.boolean().default(false),
  /**
   * *Emulator*: sessions end this many seconds after AssumeRole, whatever DurationSeconds asked.
   * Under 300 the SDK renews them before every call, so a denial set later is met at once.
   */
  sessionSeconds: z.number().int().min(1).optional(),
});

const parameterTypeSchema = z.enum(["String", "StringList", "SecureString"]);
const parameterSchema = z.union([
  scalar.transform((value) => ({ type: "String" as const, value, dataType: "text" })),
  z.strictObject({
    type: parameterTypeSchema.default("String"),
    value: scalar,
    dataType: z.string().default("text"),
    description: z.string().optional(),
  }),
]);

const containerDefinitionSchema = z.strictObject({
  name: z.string().min(1),
  image: z.string().default("public.ecr.aws/docker/library/busybox:latest"),
  dockerLabels: stringMap,
  portMappings: z
    .array(z.strictObject({ containerPort: z.number().int(), hostPort: z.number().int().optional(), name: z.string().optional() }))
    .default([]),
});

const taskDefinitionSchema = z.strictObject({
  /** Default: the topology's accountId. */
  account: accountSchema.optional(),
  family: z.string().min(1),
  revision: z.number().int().min(1).default(1),
  networkMode: z.enum(["awsvpc", "bridge", "host", "none"]).default("awsvpc"),
  cpu: z.string().default("256"),
  memory: z.string().default("512"),
  containerDefinitions: z.array(containerDefinitionSchema).min(1),
  tags: stringMap,
});

const taskSchema = z.strictObject({
  /** Default: the topology's accountId; the task definition is looked up in the same account. */
  account: accountSchema.optional(),
  cluster: z.string().min(1),
  taskId: z.string().min(1),
  /** `family:revision`; must name a task definition of this topology. */
  taskDefinition: z.string().regex(/^[^:]+:\d+$/, "must be family:revision"),
  launchType: z.enum(["FARGATE", "EC2", "EXTERNAL"]).default("FARGATE"),
  availabilityZone: z.string().optional(),
  group: z.string().optional(),
  lastStatus: z.string().default("RUNNING"),
  desiredStatus: z.string().default("RUNNING"),
  healthStatus: z.enum(["HEALTHY", "UNHEALTHY", "UNKNOWN"]).default("UNKNOWN"),
  privateIpv4Address: z.string().optional(),
  /**
   * bridge/host tasks: container port → the host port ECS bound it to (networkBindings). Default:
   * the definition's hostPort; a dynamic one (0) gets a stable port in 32768-60999 per task.
   */
  hostPorts: z.record(z.string().regex(/^\d+$/), z.number().int().min(1).max(65535)).optional(),
  containerInstanceArn: z.string().optional(),
  startedBy: z.string().optional(),
  tags: stringMap,
});

const topologySchema = z
  .strictObject({
    region: z.string().min(1).default("us-east-1"),
    accountId: accountSchema.default("123456789012"),
    /** Access key id → account: the caller of a request is the account of the key that signed it. */
    accessKeys: z.record(z.string().min(1), accountSchema).default({}),
    roles: z.array(roleSchema).default([]),
    namespaces: z.array(namespaceSchema).default([]),
    parameters: z.record(z.string().min(1), parameterSchema).default({}),
    ecs: z
      .strictObject({
        clusters: z.array(z.string().min(1)).default([]),
        taskDefinitions: z.array(taskDefinitionSchema).default([]),
        tasks: z.array(taskSchema).default([]),
      })
      .default({ clusters: [], taskDefinitions: [], tasks: [] }),
  })
  .superRefine((topology, ctx) => {
    for (const issue of crossReferenceIssues(topology)) ctx.addIssue({ code: "custom", ...issue });
  });

/** What a topology file or object may contain (defaults not yet applied). */
export type TopologyInput = z.input<typeof topologySchema>;
/** A validated topology with every default applied. */
export type Topology = z.output<typeof topologySchema>;
export type NamespaceSpec = Topology["namespaces"][number];
export type ServiceSpec = NamespaceSpec["services"][number];
export type InstanceSpec = ServiceSpec["instances"][number];
export type ParameterSpec = Topology["parameters"][string];
export type TaskDefinitionSpec = Topology["ecs"]["taskDefinitions"][number];
export type TaskSpec = Topology["ecs"]["tasks"][number];
export type RoleSpec = Topology["roles"][number];
export type HealthState = z.output<typeof healthSchema>;

// Topologies this module validated or built itself (syntheticTopology). Re-validating a
// 10,000-instance estate costs more than building it, so those are trusted as they are.
const validated = new WeakSet<object>();

/** Records that `topology` is already in validated form; parseTopology then returns it as is. */
export function trustTopology(topology: Topology): Topology {
  validated.add(topology);
  return topology;
}

/** Validates a topology object; throws TopologyError listing every problem with its path. */
export function parseTopology(value: unknown, source = "(object)"): Topology {
  if (typeof value === "object" && value !== null && validated.has(value)) return value as Topology;
  const result = topologySchema.safeParse(value ?? {});
  if (result.success) return trustTopology(result.data);
  throw new TopologyError(
    source,
    result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`),
  );
}

/** Reads a `.json`, `.yaml` or `.yml` topology file (anything else is read as YAML, a JSON superset). */
export async function loadTopologyFile(path: string): Promise<Topology> {
  const text = await readFile(path, "utf8");
  return parseTopologyText(text, extname(path).toLowerCase() === ".json" ? "json" : "yaml", path);
}

export function parseTopologyText(text: string, format: "json" | "yaml", source = "(text)"): Topology {
  let value: unknown;
  try {
    value = format === "json" ? JSON.parse(text) : parseYaml(text, { merge: true });
  } catch (error) {
    throw new TopologyError(source, [`not valid ${format.toUpperCase()}: ${(error as Error).message}`], { cause: error });
  }
  return parseTopology(value, source);
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(root)";
  return path
    .map((part, i) => (typeof part === "number" ? `[${part}]` : `${i === 0 ? "" : "."}${String(part)}`))
    .join("");
}

interface ReferenceIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/** Checks zod cannot express per field: unique names and ids, and tasks naming existing task definitions. */
function crossReferenceIssues(topology: Topology): ReferenceIssue[] {
  const issues: ReferenceIssue[] = [];
  const duplicate = (seen: Set<string>, key: string, path: (string | number)[], what: string) => {
    if (seen.has(key)) issues.push({ path, message: `duplicate ${what} "${key}"` });
    seen.add(key);
  };
  // Keys of the default account's resources are bare, as they were before accounts existed.
  const inAccount = (account: string | undefined, key: string) => (account === undefined || account === topology.accountId ? key : `${account}/${key}`);
  const namespaceNames = new Set<string>();
  const httpNames = new Set<string>();
  const namespaceIds = new Set<string>();
  const serviceIds = new Set<string>();
  topology.namespaces.forEach((ns, n) => {
    // Names are unique per account: a shared namespace may carry the same name as one's own.
    duplicate(namespaceNames, inAccount(ns.owner, ns.name), ["namespaces", n, "name"], "namespace name");
    duplicate(httpNames, inAccount(ns.owner, ns.httpName ?? ns.name), ["namespaces", n, "httpName"], "namespace httpName");
    if (ns.id !== undefined) duplicate(namespaceIds, ns.id, ["namespaces", n, "id"], "namespace id");
    const serviceNames = new Set<string>();
    ns.services.forEach((svc, s) => {
      const path = ["namespaces", n, "services", s];
      duplicate(serviceNames, svc.name, [...path, "name"], `service name in namespace "${ns.name}"`);
      if (svc.id !== undefined) duplicate(serviceIds, svc.id, [...path, "id"], "service id");
      const instanceIds = new Set<string>();
      svc.instances.forEach((inst, i) =>
        duplicate(instanceIds, inst.id, [...path, "instances", i, "id"], `instance id in service "${svc.name}"`),
      );
    });
  });
  const taskDefinitions = new Set<string>();
  topology.ecs.taskDefinitions.forEach((td, t) =>
    duplicate(taskDefinitions, inAccount(td.account, `${td.family}:${td.revision}`), ["ecs", "taskDefinitions", t], "task definition"),
  );
  const tasks = new Set<string>();
  topology.ecs.tasks.forEach((task, t) => {
    duplicate(tasks, inAccount(task.account, `${task.cluster}/${task.taskId}`), ["ecs", "tasks", t, "taskId"], "task");
    if (!taskDefinitions.has(inAccount(task.account, task.taskDefinition))) {
      issues.push({
        path: ["ecs", "tasks", t, "taskDefinition"],
        message: `task definition "${task.taskDefinition}" is not in ecs.taskDefinitions`,
      });
    }
  });
  return issues;
}
