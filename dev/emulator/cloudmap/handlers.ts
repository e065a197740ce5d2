import type {
  DiscoverInstancesResponse,
  DiscoverInstancesRevisionResponse,
  GetOperationResponse,
  GetServiceAttributesResponse,
  ListInstancesResponse,
  ListNamespacesResponse,
  ListServicesResponse,
  ListTagsForResourceResponse,
} from "@aws-sdk/client-servicediscovery";
import { epochSeconds, stableId } from "../model/ids.js";
import type { EmulatorState, OperationRecord, ServiceRecord } from "../model/state.js";
import { AwsServiceError } from "../protocol/errors.js";
import type { Handler, HandlerContext, OperationTable, Wire } from "../protocol/handler.js";
import type { InputReader } from "../protocol/input.js";
import { paginate } from "../protocol/pagination.js";
import { discover, isHealthStatusFilter, namespaceFilter, serviceFilter } from "./filters.js";
import { namespaceDetail, namespaceSummary, serviceDetail, serviceSummary } from "./render.js";

// Cloud Map list operations: MaxResults 1..100, 100 when omitted. DiscoverInstances: 1..1000, 100.
const LIST_MAX = 100;
const DISCOVER_MAX = 1000;
const DISCOVER_DEFAULT = 100;
// Not stated by the API reference; the emulator returns healthy instances when HealthStatus is
// omitted, like Cloud Map's DNS answers. Clients should always pass it explicitly.
const DEFAULT_HEALTH_STATUS = "HEALTHY";

function page<T>(operation: string, all: readonly T[], input: InputReader, ctx: HandlerContext) {
  return paginate(
    all,
    { maxResults: input.optionalInt("MaxResults", 1, LIST_MAX), nextToken: input.optionalString("NextToken") },
    { operation, awsDefault: LIST_MAX, pageSize: ctx.pageSize, invalidTokenCode: "InvalidInput" },
  );
}

/** By id or ARN as the caller sees it: a service of a namespace shared with it by ARN only. */
function serviceById(ctx: HandlerContext, input: InputReader, key: string): ServiceRecord {
  const id = input.string(key);
  const svc = ctx.state.findService(id, ctx.caller);
  if (svc === undefined) throw new AwsServiceError("ServiceNotFound", `Service not found: ${id}`);
  return svc;
}

/** The data plane: the HttpName in OwnerAccount's namespaces (default: the caller's), if visible to the caller. */
function serviceByNames(ctx: HandlerContext, input: InputReader): ServiceRecord {
  const namespaceName = input.string("NamespaceName");
  const serviceName = input.string("ServiceName");
  const owner = input.optionalString("OwnerAccount") ?? ctx.caller;
  const ns = ctx.state.findNamespaceByHttpName(namespaceName, owner, ctx.caller);
  if (ns === undefined) throw new AwsServiceError("NamespaceNotFound", `Namespace not found: ${namespaceName}`);
  const svc = ns.services.get(serviceName);
  if (svc === undefined) throw new AwsServiceError("ServiceNotFound", `Service not found: ${serviceName}`);
  return svc;
}

// Cloud Map applies registrations asynchronously; the emulator applies them at once and GetOperation
// reports SUCCESS, so a client that polls the operation still works.
function recordOperation(
  state: EmulatorState,
  type: OperationRecord["type"],
  svc: ServiceRecord,
  instanceId: string,
): { OperationId: string } {
  const id = stableId("", `${type}/${svc.id}/${instanceId}/${state.operations.size}`, 32);
  state.operations.set(id, { id, type, at: new Date(), serviceId: svc.id, instanceId });
  return { OperationId: id };
}

const listNamespaces: Handler = (input, ctx): Wire<ListNamespacesResponse> => {
  const matches = namespaceFilter(input.optionalObjectArray("Filters"), ctx.caller);
  const all = [...ctx.state.namespaces()].filter((ns) => ctx.state.visibleTo(ns, ctx.caller) && matches(ns));
  const { items, nextToken } = page("ListNamespaces", all, input, ctx);
  return {
    Namespaces: items.map((ns) => namespaceSummary(ns)),
    ...(nextToken === undefined ? {} : { NextToken: nextToken }),
  };
};

const getNamespace: Handler = (input, ctx) => {
  const id = input.string("Id");
  const ns = ctx.state.findNamespace(id, ctx.caller);
  if (ns === undefined) throw new AwsServiceError("NamespaceNotFound", `Namespace not found: ${id}`);
  return { Namespace: namespaceDetail(ns) };
};

const listServices: Handler = (input, ctx): Wire<ListServicesResponse> => {
  const matches = serviceFilter(input.optionalObjectArray("Filters"), ctx.caller);
  const all = [...ctx.state.services()].filter((svc) => ctx.state.visibleTo(svc.namespace, ctx.caller) && matches(svc));
  const { items, nextToken } = page("ListServices", all, input, ctx);
  return {
    Services: items.map((svc) => serviceSummary(svc)),
    ...(nextToken === undefined ? {} : { NextToken: nextToken }),
  };
};

const getService: Handler = (input, ctx) => ({
  Service: serviceDetail(serviceById(ctx, input, "Id")),
});

const listTagsForResource: Handler = (input, ctx): Wire<ListTagsForResourceResponse> => {
  const resourceArn = input.string("ResourceARN");
  if (!resourceArn.startsWith("arn:")) throw new AwsServiceError("InvalidInput", `Invalid ARN: ${resourceArn}`);
  const resource = resourceArn.includes(":service/")
    ? ctx.state.findService(resourceArn, ctx.caller)
    : resourceArn.includes(":namespace/")
      ? ctx.state.findNamespace(resourceArn, ctx.caller)
      : undefined;
  if (resource === undefined || resource.arn !== resourceArn) {
    throw new AwsServiceError("ResourceNotFoundException", `Resource not found: ${resourceArn}`);
  }
  // AWS does not document whether a consumer may read a shared resource's tags; the emulator
  // denies it unless the namespace says otherwise, the case a consumer must survive.
  const ns = "namespace" in resource ? resource.namespace : resource;
  if (ns.owner !== ctx.caller && !ns.consumersReadTags) {
    throw new AwsServiceError(
      "AccessDeniedException",
      `User: arn:aws:iam::${ctx.caller}:root is not authorized to perform: servicediscovery:ListTagsForResource on resource: ${resourceArn}`,
    );
  }
  return { Tags: [...resource.tags].map(([Key, Value]) => ({ Key, Value })) };
};

const listInstances: Handler = (input, ctx): Wire<ListInstancesResponse> => {
  const svc = serviceById(ctx, input, "ServiceId");
  const { items, nextToken } = page("ListInstances", [...svc.instances.values()], input, ctx);
  return {
    ResourceOwner: svc.namespace.owner,
    Instances: items.map((i) => ({ Id: i.id, Attributes: { ...i.attributes } })),
    ...(nextToken === undefined ? {} : { NextToken: nextToken }),
  };
};

const discoverInstances: Handler = (input, ctx): Wire<DiscoverInstancesResponse> => {
  const maxResults = input.optionalInt("MaxResults", 1, DISCOVER_MAX) ?? DISCOVER_DEFAULT;
  const healthStatus = input.optionalString("HealthStatus") ?? DEFAULT_HEALTH_STATUS;
  if (!isHealthStatusFilter(healthStatus)) throw input.invalid(`HealthStatus ${healthStatus} is not valid`);
  const queryParameters = input.optionalStringMap("QueryParameters") ?? {};
  const optionalParameters = input.optionalStringMap("OptionalParameters") ?? {};
  const svc = serviceByNames(ctx, input);
  const instances = discover(svc, { queryParameters, optionalParameters, healthStatus, maxResults });
  return {
    Instances: instances.map((i) => ({
      InstanceId: i.id,
      NamespaceName: svc.namespace.httpName,
      ServiceName: svc.name,
      HealthStatus: svc.healthCheck ? i.health : "UNKNOWN",
      Attributes: { ...i.attributes },
    })),
    InstancesRevision: svc.revision,
  };
};

const discoverInstancesRevision: Handler = (input, ctx): Wire<DiscoverInstancesRevisionResponse> => ({
  InstancesRevision: serviceByNames(ctx, input).revision,
});

const registerInstance: Handler = (input, ctx) => {
  const svc = serviceById(ctx, input, "ServiceId");
  const instanceId = input.string("InstanceId");
  if (instanceId.length > 64) throw input.invalid("InstanceId must be at most 64 characters");
  const attributes = input.optionalStringMap("Attributes");
  if (attributes === undefined) throw input.invalid("Attributes is required");
  // A DNS service makes an A record from the address, so Cloud Map refuses an instance without one.
  if (svc.namespace.type !== "HTTP" && attributes.AWS_INSTANCE_IPV4 === undefined && attributes.AWS_INSTANCE_IPV6 === undefined) {
    throw input.invalid("AWS_INSTANCE_IPV4 or AWS_INSTANCE_IPV6 is required for a service with DNS records");
  }
  ctx.state.register(svc, { id: instanceId, attributes });
  return recordOperation(ctx.state, "REGISTER_INSTANCE", svc, instanceId);
};

const deregisterInstance: Handler = (input, ctx) => {
  const svc = serviceById(ctx, input, "ServiceId");
  const instanceId = input.string("InstanceId");
  ctx.state.deregister(svc, instanceId);
  return recordOperation(ctx.state, "DEREGISTER_INSTANCE", svc, instanceId);
};

const getOperation: Handler = (input, ctx): Wire<GetOperationResponse> => {
  const id = input.string("OperationId");
  const op = ctx.state.operations.get(id);
  if (op === undefined) throw new AwsServiceError("OperationNotFound", `Operation not found: ${id}`);
  return {
    Operation: {
      Id: op.id,
      Type: op.type,
      Status: "SUCCESS",
      CreateDate: epochSeconds(op.at),
      UpdateDate: epochSeconds(op.at),
      Targets: { SERVICE: op.serviceId, INSTANCE: op.instanceId },
    },
  };
};

const getServiceAttributes: Handler = (input, ctx): Wire<GetServiceAttributesResponse> => {
  const svc = serviceById(ctx, input, "ServiceId");
  return { ServiceAttributes: { ServiceArn: svc.arn, ResourceOwner: svc.namespace.owner, Attributes: Object.fromEntries(svc.attributes) } };
};

// Cloud Map's limit on a service's attributes.
const SERVICE_ATTRIBUTES_MAX = 30;

const updateServiceAttributes: Handler = (input, ctx) => {
  const svc = serviceById(ctx, input, "ServiceId");
  const attributes = input.optionalStringMap("Attributes");
  if (attributes === undefined || Object.keys(attributes).length === 0) throw input.invalid("Attributes is required");
  const merged = new Map([...svc.attributes, ...Object.entries(attributes)]);
  if (merged.size > SERVICE_ATTRIBUTES_MAX) {
    throw new AwsServiceError("ServiceAttributesLimitExceededException", `A service can have at most ${SERVICE_ATTRIBUTES_MAX} attributes`);
  }
  svc.attributes = merged;
  return {};
};

export const cloudMapOperations: OperationTable = new Map<string, Handler>([
  ["GetServiceAttributes", getServiceAttributes],
  ["UpdateServiceAttributes", updateServiceAttributes],
  ["ListNamespaces", listNamespaces],
  ["GetNamespace", getNamespace],
  ["ListServices", listServices],
  ["GetService", getService],
  ["ListTagsForResource", listTagsForResource],
  ["ListInstances", listInstances],
  ["DiscoverInstances", discoverInstances],
  ["DiscoverInstancesRevision", discoverInstancesRevision],
  ["RegisterInstance", registerInstance],
  ["DeregisterInstance", deregisterInstance],
  ["GetOperation", getOperation],
]);
