import { AwsServiceError } from "../protocol/errors.js";
import { randomBytes } from "node:crypto";
import { type Account, arn, nameFromArn, stableId } from "./ids.js";
import type {
  HealthState,
  InstanceSpec,
  NamespaceSpec,
  ParameterSpec,
  RoleSpec,
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
  /** CreatedByAccount: the owner's, or a consumer's that created it in a shared namespace. */
  readonly createdBy: string;
  tags: Map<string, string>;
  /** Service attributes (GetServiceAttributes / UpdateServiceAttributes), at most 30. */
  attributes: Map<string, string>;
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
  /** ResourceOwner. */
  readonly owner: string;
  /** Accounts it is shared with (AWS RAM): they see it, by ARN only. */
  readonly sharedWith: Set<string>;
  /** Whether those accounts may read its services' tags (else AccessDeniedException). */
  consumersReadTags: boolean;
}

/** Credentials AssumeRole handed out. */
export interface AssumedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
  readonly assumedRoleArn: string;
  readonly assumedRoleId: string;
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
  /** The default account: owns what names no owner, and is the caller of an unknown access key. */
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
  /** Access key id → account, from the topology and from AssumeRole. */
  private readonly accessKeys = new Map<string, string>();
  private readonly roles = new Map<string, { externalId: string | undefined; denied: boolean; sessionSeconds: number | undefined }>();

  constructor(topology: Topology, now: () => Date = () => new Date()) {
    this.account = { region: topology.region, accountId: topology.accountId };
    this.now = now;
    for (const [key, account] of Object.entries(topology.accessKeys)) this.accessKeys.set(key, account);
    for (const role of topology.roles) this.putRole(role);
    for (const ns of topology.namespaces) this.createNamespace(ns);
    for (const [name, p] of Object.entries(topology.parameters)) {
      this.putParameter(name, p.value, { type: p.type, dataType: p.dataType });
    }
    for (const cluster of topology.ecs.clusters) this.clusters.add(this.inAccount(this.account.accountId, cluster));
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

  /**
   * By id or ARN, as GetNamespace and the NAMESPACE_ID filter accept both, as `caller` sees it: its
   * own namespaces by either, one shared with it by ARN only (as on AWS), others not at all.
   * Without a caller: the default account.
   */
  findNamespace(idOrArn: string, caller: string = this.account.accountId): NamespaceRecord | undefined {
    const ns = this.namespacesById.get(nameFromArn(idOrArn));
    if (ns === undefined) return undefined;
    if (ns.owner === caller) return ns;
    return ns.sharedWith.has(caller) && idOrArn === ns.arn ? ns : undefined;
  }

  /** What DiscoverInstances finds: the HttpName in the owner's account, if `caller` may see it. */
  findNamespaceByHttpName(httpName: string, owner: string = this.account.accountId, caller: string = owner): NamespaceRecord | undefined {
    const ns = this.namespacesByHttpName.get(`${owner}/${httpName}`);
    return ns !== undefined && this.visibleTo(ns, caller) ? ns : undefined;
  }

  /** Like findNamespace: a shared namespace's services are found by ARN only. */
  findService(idOrArn: string, caller: string = this.account.accountId): ServiceRecord | undefined {
    const svc = this.servicesById.get(nameFromArn(idOrArn));
    if (svc === undefined) return undefined;
    if (svc.namespace.owner === caller) return svc;
    return svc.namespace.sharedWith.has(caller) && idOrArn === svc.arn ? svc : undefined;
  }

  visibleTo(ns: NamespaceRecord, caller: string): boolean {
    return ns.owner === caller || ns.sharedWith.has(caller);
  }

  /** The account of an access key id (the topology's accessKeys, or AssumeRole's); else the default account. */
  callerOf(accessKeyId: string | undefined): string {
    return (accessKeyId && this.accessKeys.get(accessKeyId)) || this.account.accountId;
  }

  /**
   * The programmatic API addresses services by namespace name and service name. A name carried by
   * namespaces of several accounts means the default account's, else pass "<account>/<name>".
   */
  service(namespace: string, service: string): ServiceRecord {
    const ns = this.namespaceNamed(namespace);
    if (ns === undefined) throw notFound.namespace(namespace);
    const svc = ns.services.get(service);
    if (svc === undefined) throw notFound.service(`${namespace}/${service}`);
    return svc;
  }

  private namespaceNamed(name: string): NamespaceRecord | undefined {
    const own = this.namespacesByName.get(name.includes("/") ? name : `${this.account.accountId}/${name}`);
    if (own !== undefined) return own;
    const others = [...this.namespacesById.values()].filter((ns) => ns.name === name);
    return others.length === 1 ? others[0] : undefined;
  }

  // ---- Cloud Map: mutations -----------------------------------------------------------------

  createNamespace(spec: Omit<NamespaceSpec, "sharedWith" | "consumersReadTags"> & Partial<Pick<NamespaceSpec, "sharedWith" | "consumersReadTags">>): NamespaceRecord {
    const httpName = spec.httpName ?? spec.name;
    const owner = spec.owner ?? this.account.accountId;
    if (this.namespacesByName.has(`${owner}/${spec.name}`) || this.namespacesByHttpName.has(`${owner}/${httpName}`)) {
      throw new AwsServiceError("NamespaceAlreadyExists", `Namespace already exists: ${spec.name}`);
    }
    // The default account's ids stay what they were before accounts existed.
    const id = spec.id ?? stableId("ns-", owner === this.account.accountId ? spec.name : `${owner}/${spec.name}`);
    const ns: NamespaceRecord = {
      id,
      arn: arn.namespace(this.accountOf(owner), id),
      owner,
      sharedWith: new Set(spec.sharedWith ?? []),
      consumersReadTags: spec.consumersReadTags ?? false,
      name: spec.name,
      httpName,
      type: spec.type,
      description: spec.description,
      createDate: this.now(),
      tags: new Map(Object.entries(spec.tags)),
      services: new Map(),
    };
    this.namespacesById.set(id, ns);
    this.namespacesByName.set(`${owner}/${ns.name}`, ns);
    this.namespacesByHttpName.set(`${owner}/${httpName}`, ns);
    for (const svc of spec.services) this.addService(ns, svc);
    return ns;
  }

  createService(namespace: string, spec: ServiceInput): ServiceRecord {
    const ns = this.namespaceNamed(namespace);
    if (ns === undefined) throw notFound.namespace(namespace);
    return this.addService(ns, {
      name: spec.name,
      id: spec.id,
      description: spec.description,
      healthCheck: spec.healthCheck ?? true,
      tags: { ...spec.tags },
      attributes: { ...spec.attributes },
      ...(spec.createdBy === undefined ? {} : { createdBy: spec.createdBy }),
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

  /** Replaces a service's attributes (UpdateServiceAttributes merges instead). */
  setServiceAttributes(namespace: string, service: string, attributes: Record<string, string>): void {
    this.service(namespace, service).attributes = new Map(Object.entries(attributes));
  }

  /** Shares a namespace with an account (AWS RAM), or stops sharing it. */
  shareNamespace(namespace: string, account: string, shared = true): void {
    const ns = this.namespaceNamed(namespace);
    if (ns === undefined) throw notFound.namespace(namespace);
    if (shared) ns.sharedWith.add(account);
    else ns.sharedWith.delete(account);
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
    const seed = ns.owner === this.account.accountId ? `${ns.name}/${spec.name}` : `${ns.owner}/${ns.name}/${spec.name}`;
    const id = spec.id ?? stableId("srv-", seed);
    const svc: ServiceRecord = {
      id,
      arn: arn.service(this.accountOf(ns.owner), id),
      createdBy: spec.createdBy ?? ns.owner,
      attributes: new Map(Object.entries(spec.attributes)),
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

  // ECS resources belong to one account: each is keyed by it (the default account's keys stay bare).

  hasCluster(name: string, account: string = this.account.accountId): boolean {
    return this.clusters.has(this.inAccount(account, name));
  }

  findTask(cluster: string, taskId: string, account: string = this.account.accountId): TaskRecord | undefined {
    return this.tasks.get(this.inAccount(account, `${cluster}/${taskId}`));
  }

  /** `family:revision`, or a bare family meaning its latest revision. */
  findTaskDefinition(familyRevision: string, account: string = this.account.accountId): TaskDefinitionRecord | undefined {
    const [family = "", revision] = familyRevision.split(":");
    const rev = revision ?? String(this.latestRevision.get(this.inAccount(account, family)) ?? "");
    return this.taskDefinitions.get(this.inAccount(account, `${family}:${rev}`));
  }

  putTaskDefinition(spec: TaskDefinitionSpec): TaskDefinitionRecord {
    const account = spec.account ?? this.account.accountId;
    const record = { arn: arn.taskDefinition(this.accountOf(account), spec.family, spec.revision), spec, registeredAt: this.now() };
    this.taskDefinitions.set(this.inAccount(account, `${spec.family}:${spec.revision}`), record);
    const family = this.inAccount(account, spec.family);
    this.latestRevision.set(family, Math.max(this.latestRevision.get(family) ?? 0, spec.revision));
    return record;
  }

  /** Adds or replaces a task; its cluster starts to exist, as it would have to on AWS. */
  putTask(spec: TaskSpec): TaskRecord {
    const account = spec.account ?? this.account.accountId;
    const record = { arn: arn.task(this.accountOf(account), spec.cluster, spec.taskId), spec, createdAt: this.now() };
    this.clusters.add(this.inAccount(account, spec.cluster));
    this.tasks.set(this.inAccount(account, `${spec.cluster}/${spec.taskId}`), record);
    return record;
  }

  removeTask(cluster: string, taskId: string, account: string = this.account.accountId): boolean {
    return this.tasks.delete(this.inAccount(account, `${cluster}/${taskId}`));
  }

  /** The region with another account id, for that account's ARNs. */
  accountOf(accountId: string): Account {
    return accountId === this.account.accountId ? this.account : { region: this.account.region, accountId };
  }

  private inAccount(account: string, key: string): string {
    return account === this.account.accountId ? key : `${account}:${key}`;
  }

  // ---- STS ----------------------------------------------------------------------------------

  putRole(role: Omit<RoleSpec, "denied"> & { denied?: boolean }): void {
    this.roles.set(role.arn, { externalId: role.externalId, denied: role.denied ?? false, sessionSeconds: role.sessionSeconds });
  }

  /** Makes AssumeRole of this role answer AccessDenied (or succeed again). */
  setRoleDenied(roleArn: string, denied: boolean): void {
    const role = this.roles.get(roleArn);
    if (role === undefined) throw new AwsServiceError("NoSuchEntity", `Role not found: ${roleArn}`);
    role.denied = denied;
  }

  /**
   * Hands out credentials of the role's account: requests signed with them act as that account.
   * A role not in the topology, a denied one, or a wrong external id: AccessDenied, as a trust
   * policy that does not let the caller in answers.
   */
  assumeRole(caller: string, roleArn: string, sessionName: string, externalId: string | undefined, durationSeconds: number): AssumedCredentials {
    const role = this.roles.get(roleArn);
    if (role === undefined || role.denied || role.externalId !== externalId) {
      throw new AwsServiceError("AccessDenied", `User: arn:aws:iam::${caller}:root is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 403);
    }
    const account = roleArn.split(":")[4] as string;
    const accessKeyId = `ASIA${randomBytes(8).toString("hex").toUpperCase()}`;
    this.accessKeys.set(accessKeyId, account);
    const roleName = roleArn.slice(roleArn.indexOf(":role/") + ":role/".length);
    const roleId = `AROA${stableId("", roleArn, 16).toUpperCase()}`;
    return {
      accessKeyId,
      secretAccessKey: randomBytes(20).toString("base64"),
      sessionToken: randomBytes(32).toString("base64"),
      expiration: new Date(this.now().getTime() + (role.sessionSeconds ?? durationSeconds) * 1000),
      assumedRoleArn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`,
      assumedRoleId: `${roleId}:${sessionName}`,
    };
  }
}

export interface ServiceInput {
  readonly name: string;
  readonly createdBy?: string | undefined;
  readonly attributes?: Readonly<Record<string, string>> | undefined;
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
