import {
  DiscoverInstancesCommand,
  DiscoverInstancesRevisionCommand,
  type HealthStatusFilter,
  ListNamespacesCommand,
  ListServicesCommand,
  ListTagsForResourceCommand,
  type ServiceDiscoveryClient,
} from "@aws-sdk/client-servicediscovery";
import type { Instance, Namespace, Service } from "../core/model.js";
import { allPages, awsCall, type CallContext, required } from "./call.js";

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
            const items = required(op, "Namespaces", page.Namespaces).map((summary) => ({
              id: required(op, "Namespaces[].Id", summary.Id),
              name: required(op, "Namespaces[].Name", summary.Name),
              type: summary.Type ?? "UNKNOWN",
              httpName: summary.Properties?.HttpProperties?.HttpName ?? name,
            }));
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
                Filters: [{ Name: "NAMESPACE_ID", Values: [namespace.id], Condition: "EQ" }],
              }),
            );
            const items = required(op, "Services", page.Services).map((summary) => ({
              id: required(op, "Services[].Id", summary.Id),
              arn: required(op, "Services[].Arn", summary.Arn),
              name: required(op, "Services[].Name", summary.Name),
              namespace,
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
        return tags;
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
          }),
        );
        const instances = required(op, "Instances", output.Instances).map(
          (instance): Instance => ({
            id: required(op, "Instances[].InstanceId", instance.InstanceId),
            // Passed through as Cloud Map returns them (IPv4, IPv6, port, custom attributes): the
            // core decides what they mean. Absent only for an instance registered without any.
            attributes: instance.Attributes ?? {},
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
          new DiscoverInstancesRevisionCommand({ NamespaceName: service.namespace.httpName, ServiceName: service.name }),
        );
        return required(op, "InstancesRevision", output.InstancesRevision);
      },
      abortSignal,
    );
  }
}

function scopeOf(service: Service) {
  return { namespace: service.namespace.name, service: service.name };
}
