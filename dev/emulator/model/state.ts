import { AwsServiceError } from "../protocol/errors.js";
import { type Account, arn, nameFromArn, stableId } from "./ids.js";
import type {
  HealthState,
  InstanceSpec,
  NamespaceSpec,
  ParameterSpec,
  ServiceSpec,
  TaskDefinitionSpec,
  TaskSpec,
  Topology,
} from "./topology.js";

export interface InstanceRecord {
  readonly id: string;
  attributes: Record<string, string>;
  health: HealthState;
}

export interface ServiceRecord {
  readonly id: string;
  readonly arn: string;
  readonly name: string;
  readonly namespace: NamespaceRecord;
  readonly description: string | undefined;
  readonly healthCheck: boolean;
  readonly createDate: Date;
  tags: Map<string, string>;
  readonly instances: Map<string, InstanceRecord>;
  /** Cloud Map's InstancesRevision: moves on register/deregister, never on a health change. */
  revision: number;
}

export interface NamespaceRecord {
  readonly id: string;
  readonly arn: string;
  readonly name: string;
  readonly httpName: string;
  readonly type: NamespaceSpec["type"];
  readonly description: string | undefined;
  readonly createDate: Date;
  readonly tags: Map<string, string>;
  readonly services: Map<string, ServiceRecord>;
}

export interface ParameterVersion {
  readonly version: number;
  readonly value: string;
  readonly type: ParameterSpec["type"];
  readonly dataType: string;
  readonly lastModified: Date;
}

export interface ParameterRecord {
  readonly name: string;
  readonly arn: string;
  readonly versions: ParameterVersion[];
}

export interface TaskRecord {
  readonly arn: string;
  readonly spec: TaskSpec;
  readonly createdAt: Date;
}

export interface TaskDefinitionRecord {
  readonly arn: string;
  readonly spec: TaskDefinitionSpec;
  readonly registeredAt: Date;
}

export interface OperationRecord {
  readonly id: string;
  readonly type: "REGISTER_INSTANCE" | "DEREGISTER_INSTANCE";
  readonly at: Date;
  readonly serviceId: string;
  readonly instanceId: string;
}

export interface PutParameterOptions {
  readonly type?: ParameterSpec["type"] | undefined;
  readonly dataType?: string | undefined;
  /** Defaults to true for the programmatic API; the PutParameter operation passes the request's flag. */
  readonly overwrite?: boolean | undefined;
}

const notFound = {
  namespace: (name: string) => new AwsServiceError("NamespaceNotFound", `Namespace not found: ${name}`),
  service: (name: string) => new AwsServiceError("ServiceNotFound", `Service not found: ${name}`),
  instance: (id: string) => new AwsServiceError("InstanceNotFound", `Instance not found: ${id}`),
};

/**
 * The emulated estate: Cloud Map namespaces/services/instances, SSM parameters, ECS tasks and task
 * definitions, indexed by every key an operation looks them up by (no scans per request, so a
 * 10,000-instance estate serves as fast as a small one). Handlers and tests mutate it through the
 * same methods, so a test's change is exactly what a client sees on its next call.
 */
export class EmulatorState {
  readonly account: Account;
  /** Cloud Map operations (RegisterInstance/DeregisterInstance) by OperationId, for GetOperation. */
  readonly operations = new Map<string, OperationRecord>();
  private readonly now: () => Date;
  private readonly namespacesById = new Map<string, NamespaceRecord>();
  private readonly namespacesByName = new Map<string, NamespaceRecord>();
  private readonly namespacesByHttpName = new Map<string, NamespaceRecord>();
  private readonly servicesById = new Map<string, ServiceRecord>();
  private readonly parameters = new Map<string, ParameterRecord>();
  private readonly clusters = new Set<string>();
  private readonly tasks = new Map<string, TaskRecord>();
  private readonly taskDefinitions = new Map<string, TaskDefinitionRecord>();
  private readonly latestRevision = new Map<string, number>();

  constructor(topology: Topology, now: () => Date = () => new Date()) {
    this.account = { region: topology.region, accountId: topology.accountId };
    this.now = now;
    for (const ns of topology.namespaces) this.createNamespace(ns);
    for (const [name, p] of Object.entries(topology.parameters)) {
      this.putParameter(name, p.value, { type: p.type, dataType: p.dataType });
    }
    for (const cluster of topology.ecs.clusters) this.clusters.add(cluster);
    for (const td of topology.ecs.taskDefinitions) this.putTaskDefinition(td);
    for (const task of topology.ecs.tasks) this.putTask(task);
  }

  // ---- Cloud Map: lookups -------------------------------------------------------------------

  namespaces(): IterableIterator<NamespaceRecord> {
    return this.namespacesById.values();
  }

  *services(): Generator<ServiceRecord> {
    for (const ns of this.namespacesById.values()) yield* ns.services.values();
  }

  /** By id or ARN, as GetNamespace and the NAMESPACE_ID filter accept both. */
  findNamespace(idOrArn: string): NamespaceRecord | undefined {
    return this.namespacesById.get(nameFromArn(idOrArn));
  }

  findNamespaceByHttpName(httpName: string): NamespaceRecord | undefined {
    return this.namespacesByHttpName.get(httpName);
  }

  findService(idOrArn: string): ServiceRecord | undefined {
    return this.servicesById.get(nameFromArn(idOrArn));
  }

  /** The programmatic API addresses services by namespace name and service name. */
  service(namespace: string, service: string): ServiceRecord {
    const ns = this.namespacesByName.get(namespace);
    if (ns === undefined) throw notFound.namespace(namespace);
    const svc = ns.services.get(service);
    if (svc === undefined) throw notFound.service(`${namespace}/${service}`);
    return svc;
  }

  // ---- Cloud Map: mutations -----------------------------------------------------------------

  createNamespace(spec: NamespaceSpec): NamespaceRecord {
    const httpName = spec.httpName ?? spec.name;
    if (this.namespacesByName.has(spec.name) || this.namespacesByHttpName.has(httpName)) {
      throw new AwsServiceError("NamespaceAlreadyExists", `Namespace already exists: ${spec.name}`);
    }
    const id = spec.id ?? stableId("ns-", spec.name);
    const ns: NamespaceRecord = {
      id,
      arn: arn.namespace(this.account, id),
      name: spec.name,
      httpName,
      type: spec.type,
      description: spec.description,
      createDate: this.now(),
      tags: new Map(Object.entries(spec.tags)),
      services: new Map(),
    };
    this.namespacesById.set(id, ns);
    this.namespacesByName.set(ns.name, ns);
    this.namespacesByHttpName.set(httpName, ns);
    for (const svc of spec.services) this.addService(ns, svc);
    return ns;
  }

  createService(namespace: string, spec: ServiceInput): ServiceRecord {
    const ns = this.namespacesByName.get(namespace);
    if (ns === undefined) throw notFound.namespace(namespace);
    return this.addService(ns, {
      name: spec.name,
      id: spec.id,
      description: spec.description,
      healthCheck: spec.healthCheck ?? true,
      tags: { ...spec.tags },
      instances: (spec.instances ?? []).map((i) => ({ id: i.id, attributes: { ...i.attributes }, health: i.health ?? "HEALTHY" })),
    });
  }

  deleteService(namespace: string, service: string): void {
    const svc = this.service(namespace, service);
    svc.namespace.services.delete(svc.name);
    this.servicesById.delete(svc.id);
  }

  setServiceTags(namespace: string, service: string, tags: Record<string, string>): void {
    this.service(namespace, service).tags = new Map(Object.entries(tags));
  }

  registerInstance(namespace: string, service: string, instance: InstanceInput): InstanceRecord {
    return this.register(this.service(namespace, service), instance);
  }

  deregisterInstance(namespace: string, service: string, instanceId: string): void {
    this.deregister(this.service(namespace, service), instanceId);
  }

  setHealth(namespace: string, service: string, instanceId: string, health: HealthState): void {
    const instance = this.service(namespace, service).instances.get(instanceId);
    if (instance === undefined) throw notFound.instance(instanceId);
    // Deliberately no revision bump: Cloud Map's InstancesRevision ignores health changes.
    instance.health = health;
  }

  /** Registers (or re-registers, replacing attributes) an instance; always moves the revision. */
  register(svc: ServiceRecord, instance: InstanceInput): InstanceRecord {
    const existing = svc.instances.get(instance.id);
    const record: InstanceRecord = {
      id: instance.id,
      attributes: { ...instance.attributes },
      health: instance.health ?? existing?.health ?? "HEALTHY",
    };
    svc.instances.set(record.id, record);
    svc.revision += 1;
    return record;
  }

  deregister(svc: ServiceRecord, instanceId: string): void {
    if (!svc.instances.delete(instanceId)) throw notFound.instance(instanceId);
    svc.revision += 1;
  }

  private addService(ns: NamespaceRecord, spec: ServiceSpec): ServiceRecord {
    if (ns.services.has(spec.name)) {
      throw new AwsServiceError("ServiceAlreadyExists", `Service already exists: ${ns.name}/${spec.name}`);
    }
    const id = spec.id ?? stableId("srv-", `${ns.name}/${spec.name}`);
    const svc: ServiceRecord = {
      id,
      arn: arn.service(this.account, id),
      name: spec.name,
      namespace: ns,
      description: spec.description,
      healthCheck: spec.healthCheck,
      createDate: this.now(),
      tags: new Map(Object.entries(spec.tags)),
      instances: new Map(),
      revision: 1,
    };
    for (const inst of spec.instances) svc.instances.set(inst.id, { ...inst, attributes: { ...inst.attributes } });
    ns.services.set(svc.name, svc);
    this.servicesById.set(id, svc);
    return svc;
  }

  // ---- SSM ----------------------------------------------------------------------------------

  findParameter(name: string): ParameterRecord | undefined {
    return this.parameters.get(name);
  }

  /** Returns the new version; throws ParameterAlreadyExists when it exists and overwrite is false. */
  putParameter(name: string, value: string, options: PutParameterOptions = {}): number {
    const existing = this.parameters.get(name);
    if (existing !== undefined && options.overwrite === false) {
      throw new AwsServiceError("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.");
    }
    const previous = existing?.versions.at(-1);
    const version: ParameterVersion = {
      version: (previous?.version ?? 0) + 1,
      value,
      type: options.type ?? previous?.type ?? "String",
      dataType: options.dataType ?? previous?.dataType ?? "text",
      lastModified: this.now(),
    };
    if (existing === undefined) {
      this.parameters.set(name, { name, arn: arn.parameter(this.account, name), versions: [version] });
    } else {
      existing.versions.push(version);
    }
    return version.version;
  }

  deleteParameter(name: string): void {
    this.parameters.delete(name);
  }

  // ---- ECS ----------------------------------------------------------------------------------

  hasCluster(name: string): boolean {
    return this.clusters.has(name);
  }

  findTask(cluster: string, taskId: string): TaskRecord | undefined {
    return this.tasks.get(`${cluster}/${taskId}`);
  }

  /** `family:revision`, or a bare family meaning its latest revision. */
  findTaskDefinition(familyRevision: string): TaskDefinitionRecord | undefined {
    const [family = "", revision] = familyRevision.split(":");
    const rev = revision ?? String(this.latestRevision.get(family) ?? "");
    return this.taskDefinitions.get(`${family}:${rev}`);
  }

  putTaskDefinition(spec: TaskDefinitionSpec): TaskDefinitionRecord {
    const record = { arn: arn.taskDefinition(this.account, spec.family, spec.revision), spec, registeredAt: this.now() };
    this.taskDefinitions.set(`${spec.family}:${spec.revision}`, record);
    this.latestRevision.set(spec.family, Math.max(this.latestRevision.get(spec.family) ?? 0, spec.revision));
    return record;
  }

  /** Adds or replaces a task; its cluster starts to exist, as it would have to on AWS. */
  putTask(spec: TaskSpec): TaskRecord {
    const record = { arn: arn.task(this.account, spec.cluster, spec.taskId), spec, createdAt: this.now() };
    this.clusters.add(spec.cluster);
    this.tasks.set(`${spec.cluster}/${spec.taskId}`, record);
    return record;
  }

  removeTask(cluster: string, taskId: string): boolean {
    return this.tasks.delete(`${cluster}/${taskId}`);
  }
}

export interface ServiceInput {
  readonly name: string;
  readonly id?: string | undefined;
  readonly description?: string | undefined;
  readonly healthCheck?: boolean | undefined;
  readonly tags?: Readonly<Record<string, string>> | undefined;
  readonly instances?: readonly InstanceInput[] | undefined;
}

export interface InstanceInput {
  readonly id: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly health?: InstanceSpec["health"] | undefined;
}
