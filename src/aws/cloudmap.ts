import {
  DiscoverInstancesCommand,
  DiscoverInstancesRevisionCommand,
  GetNamespaceCommand,
  GetServiceAttributesCommand,
  type HealthStatusFilter,
  ListNamespacesCommand,
  ListServicesCommand,
  ListTagsForResourceCommand,
  type ServiceDiscoveryClient,
  type ServiceSummary,
} from "@aws-sdk/client-servicediscovery";
import type { Instance, Namespace, Service } from "../core/model.js";
import { AwsCallError, errorCode } from "../errors.js";
import { allPages, awsCall, type CallContext, required, stringRecord } from "./call.js";

/** DiscoverInstances' largest page, and Cloud Map's default per-service instance quota. */
export const DISCOVER_INSTANCES_MAX = 1000;

export interface ServiceInstances {
  readonly instances: Instance[];
  readonly revision: number;
  /**
   * Exactly DISCOVER_INSTANCES_MAX instances came back: DiscoverInstances does not paginate, so
   * the service may have more (a raised quota) that this read cannot see.
   */
  readonly atLimit: boolean;
}

/**
 * The Cloud Map calls cloudmap-sd makes, each returning plain values. Stateless.
 *
 * Every field the API always returns is checked with required() inside the call, so an empty or
 * cut-short 200 fails that call (counted, wrapped in AwsCallError with its scope) instead of
 * reading as "nothing exists", and a summary without its identity fails the call rather than
 * being dropped.
 */
export class CloudMapApi {
  constructor(
    private readonly client: ServiceDiscoveryClient,
    private readonly context: CallContext,
  ) {}

  /** Every namespace of any type (DNS_PRIVATE, DNS_PUBLIC, HTTP) with this name, filtered server-side. */
  async namespacesNamed(name: string, abortSignal?: AbortSignal): Promise<Namespace[]> {
    const op = "ListNamespaces";
    const namespaces = await allPages(
      (NextToken) =>
        awsCall(
          this.context,
          op,
          { namespace: name },
          async () => {
            const page = await this.client.send(
              new ListNamespacesCommand({ NextToken, MaxResults: 100, Filters: [{ Name: "NAME", Values: [name], Condition: "EQ" }] }),
            );
            const items = required(op, "Namespaces", page.Namespaces).map((summary) =>
              toNamespace(op, summary, required(op, "Namespaces[].Name", summary.Name)),
            );
            return { items, NextToken: page.NextToken };
          },
          abortSignal,
        ),
      (page) => page.items,
      (page) => page.NextToken,
    );
    // The server-side filter is trusted, not relied on.
    return namespaces.filter((namespace) => namespace.name === name);
  }

  /**
   * A namespace named by its ARN in the namespaces parameter: the only way to address a namespace
   * shared by another account whose name is not unique. Undefined when Cloud Map does not know it.
   */
  async namespaceByArn(arn: string, abortSignal?: AbortSignal): Promise<Namespace | undefined> {
    const op = "GetNamespace";
    try {
      return await awsCall(
        this.context,
        op,
        { namespace: arn },
        async () => {
          const output = await this.client.send(new GetNamespaceCommand({ Id: arn }));
          const namespace = required(op, "Namespace", output.Namespace);
          return toNamespace(op, namespace, required(op, "Namespace.Name", namespace.Name));
        },
        abortSignal,
      );
    } catch (error) {
      if (error instanceof AwsCallError && errorCode(error) === "NamespaceNotFound") return undefined;
      throw error;
    }
  }

  async services(namespace: Namespace, abortSignal?: AbortSignal): Promise<Service[]> {
    const op = "ListServices";
    return allPages(
      (NextToken) =>
        awsCall(
          this.context,
          op,
          { namespace: namespace.name },
          async () => {
            const page = await this.client.send(
              new ListServicesCommand({
                NextToken,
                MaxResults: 100,
                // A shared namespace is found by its ARN only; the ARN works for one's own too.
                Filters: [{ Name: "NAMESPACE_ID", Values: [namespace.owner && namespace.arn ? namespace.arn : namespace.id], Condition: "EQ" }],
              }),
            );
            const items = required(op, "Services", page.Services).map((summary) => ({
              id: required(op, "Services[].Id", summary.Id),
              arn: required(op, "Services[].Arn", summary.Arn),
              name: required(op, "Services[].Name", summary.Name),
              namespace,
              ...(summary.CreatedByAccount ? { createdBy: summary.CreatedByAccount } : {}),
              ...healthCheckOf(summary),
            }));
            return { items, NextToken: page.NextToken };
          },
          abortSignal,
        ),
      (page) => page.items,
      (page) => page.NextToken,
    );
  }

  async tags(service: Service, abortSignal?: AbortSignal): Promise<Record<string, string>> {
    const op = "ListTagsForResource";
    return awsCall(
      this.context,
      op,
      scopeOf(service),
      async () => {
        const output = await this.client.send(new ListTagsForResourceCommand({ ResourceARN: service.arn }));
        const tags: Record<string, string> = {};
        // A resource without tags answers `Tags: []`; Key and Value are both required in a Tag.
        for (const tag of required(op, "Tags", output.Tags)) {
          tags[required(op, "Tags[].Key", tag.Key)] = required(op, "Tags[].Value", tag.Value);
        }
        return stringRecord(op, "Tags[].Value", tags);
      },
      abortSignal,
    );
  }

  /**
   * The service's own attributes (up to 30 keys), a configuration channel that works where tags do
   * not: services ECS Service Connect creates cannot be tagged, and a shared service's tags may not
   * be readable by the consumer. Addressed by ARN, which a shared service requires.
   */
  async serviceAttributes(service: Service, abortSignal?: AbortSignal): Promise<Record<string, string>> {
    const op = "GetServiceAttributes";
    return awsCall(
      this.context,
      op,
      scopeOf(service),
      async () => {
        const output = await this.client.send(new GetServiceAttributesCommand({ ServiceId: service.arn }));
        // A service that never had attributes answers an empty map.
        return { ...stringRecord(op, "ServiceAttributes.Attributes", required(op, "ServiceAttributes", output.ServiceAttributes).Attributes) };
      },
      abortSignal,
    );
  }

  /**
   * DiscoverInstances is the data-plane read (1,000 requests/s per account, versus a far lower
   * quota for ListInstances). It does not paginate: 1,000 is both its maximum page and the default
   * per-service instance quota, so one call reads a whole service unless `atLimit` says otherwise.
   */
  async instances(service: Service, healthStatus: HealthStatusFilter, abortSignal?: AbortSignal): Promise<ServiceInstances> {
    const op = "DiscoverInstances";
    return awsCall(
      this.context,
      op,
      scopeOf(service),
      async () => {
        const output = await this.client.send(
          new DiscoverInstancesCommand({
            NamespaceName: service.namespace.httpName,
            ServiceName: service.name,
            MaxResults: DISCOVER_INSTANCES_MAX,
            HealthStatus: healthStatus,
            ...ownerOf(service),
          }),
        );
        const instances = required(op, "Instances", output.Instances).map(
          (instance): Instance => ({
            id: required(op, "Instances[].InstanceId", instance.InstanceId),
            // Passed through as Cloud Map returns them (IPv4, IPv6, port, custom attributes): the
            // core decides what they mean. Absent only for an instance registered without any.
            attributes: stringRecord(op, "Instances[].Attributes", instance.Attributes),
            ...(instance.HealthStatus ? { healthStatus: instance.HealthStatus } : {}),
          }),
        );
        return {
          instances,
          revision: required(op, "InstancesRevision", output.InstancesRevision),
          atLimit: instances.length >= DISCOVER_INSTANCES_MAX,
        };
      },
      abortSignal,
    );
  }

  /** Moves whenever an instance is registered, deregistered or changed; not on health changes. */
  async revision(service: Service, abortSignal?: AbortSignal): Promise<number> {
    const op = "DiscoverInstancesRevision";
    return awsCall(
      this.context,
      op,
      scopeOf(service),
      async () => {
        const output = await this.client.send(
          new DiscoverInstancesRevisionCommand({ NamespaceName: service.namespace.httpName, ServiceName: service.name, ...ownerOf(service) }),
        );
        return required(op, "InstancesRevision", output.InstancesRevision);
      },
      abortSignal,
    );
  }
}

/**
 * OwnerAccount, which a shared namespace requires in the data-plane reads. It is the namespace's
 * ResourceOwner, so it is right for one's own namespaces too.
 */
function ownerOf(service: Service): { OwnerAccount?: string } {
  return service.namespace.owner ? { OwnerAccount: service.namespace.owner } : {};
}

function toNamespace(
  op: string,
  summary: { Id?: string | undefined; Arn?: string | undefined; ResourceOwner?: string | undefined; Type?: string | undefined; Properties?: { HttpProperties?: { HttpName?: string | undefined } | undefined } | undefined },
  name: string,
): Namespace {
  return {
    id: required(op, "Namespaces[].Id", summary.Id),
    name,
    type: summary.Type ?? "UNKNOWN",
    httpName: summary.Properties?.HttpProperties?.HttpName ?? name,
    ...(summary.Arn ? { arn: summary.Arn } : {}),
    ...(summary.ResourceOwner ? { owner: summary.ResourceOwner } : {}),
  };
}

/**
 * Whether the service has a health check. A summary with neither config has none, but only a
 * complete summary can say so: the configs are optional fields, so an older endpoint or a
 * cut-short answer would look the same. CreateDate, which every service has and every current
 * summary carries, is taken as the sign of a complete one; without it the answer stays unknown
 * (counted as checked, so the instances' health is re-read as before).
 */
function healthCheckOf(summary: ServiceSummary): { healthChecked?: boolean } {
  if (summary.HealthCheckConfig || summary.HealthCheckCustomConfig) return { healthChecked: true };
  return summary.CreateDate === undefined ? {} : { healthChecked: false };
}

function scopeOf(service: Service) {
  return { namespace: service.namespace.name, service: service.name };
}
