import type {
  DiscoverInstancesResponse,
  DiscoverInstancesRevisionResponse,
  GetOperationResponse,
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

function serviceById(state: EmulatorState, input: InputReader, key: string): ServiceRecord {
  const id = input.string(key);
  const svc = state.findService(id);
  if (svc === undefined) throw new AwsServiceError("ServiceNotFound", `Service not found: ${id}`);
  return svc;
}

function serviceByNames(state: EmulatorState, input: InputReader): ServiceRecord {
  const namespaceName = input.string("NamespaceName");
  const serviceName = input.string("ServiceName");
  const ns = state.findNamespaceByHttpName(namespaceName);
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
  const matches = namespaceFilter(input.optionalObjectArray("Filters"));
  const all = [...ctx.state.namespaces()].filter(matches);
  const { items, nextToken } = page("ListNamespaces", all, input, ctx);
  return {
    Namespaces: items.map((ns) => namespaceSummary(ns, ctx.state.account.accountId)),
    ...(nextToken === undefined ? {} : { NextToken: nextToken }),
  };
};

const getNamespace: Handler = (input, ctx) => {
  const id = input.string("Id");
  const ns = ctx.state.findNamespace(id);
  if (ns === undefined) throw new AwsServiceError("NamespaceNotFound", `Namespace not found: ${id}`);
  return { Namespace: namespaceDetail(ns, ctx.state.account.accountId) };
};

const listServices: Handler = (input, ctx): Wire<ListServicesResponse> => {
  const matches = serviceFilter(input.optionalObjectArray("Filters"));
  const all = [...ctx.state.services()].filter(matches);
  const { items, nextToken } = page("ListServices", all, input, ctx);
  return {
    Services: items.map((svc) => serviceSummary(svc, ctx.state.account.accountId)),
    ...(nextToken === undefined ? {} : { NextToken: nextToken }),
  };
};

const getService: Handler = (input, ctx) => ({
  Service: serviceDetail(serviceById(ctx.state, input, "Id"), ctx.state.account.accountId),
});

const listTagsForResource: Handler = (input, ctx): Wire<ListTagsForResourceResponse> => {
  const resourceArn = input.string("ResourceARN");
  if (!resourceArn.startsWith("arn:")) throw new AwsServiceError("InvalidInput", `Invalid ARN: ${resourceArn}`);
  const resource = resourceArn.includes(":service/")
    ? ctx.state.findService(resourceArn)
    : resourceArn.includes(":namespace/")
      ? ctx.state.findNamespace(resourceArn)
      : undefined;
  if (resource === undefined || resource.arn !== resourceArn) {
    throw new AwsServiceError("ResourceNotFoundException", `Resource not found: ${resourceArn}`);
  }
  return { Tags: [...resource.tags].map(([Key, Value]) => ({ Key, Value })) };
};

const listInstances: Handler = (input, ctx): Wire<ListInstancesResponse> => {
  const svc = serviceById(ctx.state, input, "ServiceId");
  const { items, nextToken } = page("ListInstances", [...svc.instances.values()], input, ctx);
  return {
    ResourceOwner: ctx.state.account.accountId,
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
  const svc = serviceByNames(ctx.state, input);
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
  InstancesRevision: serviceByNames(ctx.state, input).revision,
});

const registerInstance: Handler = (input, ctx) => {
  const svc = serviceById(ctx.state, input, "ServiceId");
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
  const svc = serviceById(ctx.state, input, "ServiceId");
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

export const cloudMapOperations: OperationTable = new Map<string, Handler>([
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
