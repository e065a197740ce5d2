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

/** The Cloud Map calls cloudmap-sd makes, each returning plain values. Stateless. */
export class CloudMapApi {
  constructor(
    private readonly client: ServiceDiscoveryClient,
    private readonly context: CallContext,
  ) {}

  /** Every namespace of any type (DNS_PRIVATE, DNS_PUBLIC, HTTP) with this name, filtered server-side. */
  async namespacesNamed(name: string, abortSignal?: AbortSignal): Promise<Namespace[]> {
    const summaries = await allPages(
      (NextToken) =>
        awsCall(this.context, "ListNamespaces", { namespace: name }, (signal) =>
          this.client.send(
            new ListNamespacesCommand({ NextToken, MaxResults: 100, Filters: [{ Name: "NAME", Values: [name], Condition: "EQ" }] }),
            { abortSignal: signal },
          ),
          abortSignal,
        ),
      (page) => required("ListNamespaces", "Namespaces", page.Namespaces),
      (page) => page.NextToken,
    );
    return summaries
      .filter((summary) => summary.Id && summary.Name === name)
      .map((summary) => ({
        id: summary.Id as string,
        name,
        type: summary.Type ?? "UNKNOWN",
        httpName: summary.Properties?.HttpProperties?.HttpName ?? name,
      }));
  }

  async services(namespace: Namespace, abortSignal?: AbortSignal): Promise<Service[]> {
    const summaries = await allPages(
      (NextToken) =>
        awsCall(this.context, "ListServices", { namespace: namespace.name }, (signal) =>
          this.client.send(
            new ListServicesCommand({
              NextToken,
              MaxResults: 100,
              Filters: [{ Name: "NAMESPACE_ID", Values: [namespace.id], Condition: "EQ" }],
            }),
            { abortSignal: signal },
          ),
          abortSignal,
        ),
      (page) => required("ListServices", "Services", page.Services),
      (page) => page.NextToken,
    );
    return summaries
      .filter((summary) => summary.Id && summary.Name && summary.Arn)
      .map((summary) => ({ id: summary.Id as string, arn: summary.Arn as string, name: summary.Name as string, namespace }));
  }

  async tags(service: Service, abortSignal?: AbortSignal): Promise<Record<string, string>> {
    const output = await awsCall(this.context, "ListTagsForResource", scopeOf(service), (signal) =>
      this.client.send(new ListTagsForResourceCommand({ ResourceARN: service.arn }), { abortSignal: signal }),
      abortSignal,
    );
    const tags: Record<string, string> = {};
    for (const tag of output.Tags ?? []) if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? "";
    return tags;
  }

  /**
   * DiscoverInstances is the data-plane read (1,000 requests/s per account, versus a far lower
   * quota for ListInstances). It does not paginate: 1,000 is both its maximum page and the
   * per-service instance quota, so one call reads a whole service.
   */
  async instances(
    service: Service,
    healthStatus: HealthStatusFilter,
    abortSignal?: AbortSignal,
  ): Promise<{ instances: Instance[]; revision: number | undefined }> {
    const output = await awsCall(this.context, "DiscoverInstances", scopeOf(service), (signal) =>
      this.client.send(
        new DiscoverInstancesCommand({
          NamespaceName: service.namespace.httpName,
          ServiceName: service.name,
          MaxResults: 1000,
          HealthStatus: healthStatus,
        }),
        { abortSignal: signal },
      ),
      abortSignal,
    );
    const instances = (output.Instances ?? [])
      .filter((instance) => instance.InstanceId)
      .map((instance) => ({
        id: instance.InstanceId as string,
        attributes: instance.Attributes ?? {},
        ...(instance.HealthStatus ? { healthStatus: instance.HealthStatus } : {}),
      }));
    return { instances, revision: output.InstancesRevision };
  }

  /** Moves whenever an instance is registered, deregistered or changed; not on health changes. */
  async revision(service: Service, abortSignal?: AbortSignal): Promise<number | undefined> {
    const output = await awsCall(this.context, "DiscoverInstancesRevision", scopeOf(service), (signal) =>
      this.client.send(
        new DiscoverInstancesRevisionCommand({ NamespaceName: service.namespace.httpName, ServiceName: service.name }),
        { abortSignal: signal },
      ),
      abortSignal,
    );
    return output.InstancesRevision;
  }
}

function scopeOf(service: Service) {
  return { namespace: service.namespace.name, service: service.name };
}
