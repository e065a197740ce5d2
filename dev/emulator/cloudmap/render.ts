import type {
  Namespace,
  NamespaceSummary,
  Service,
  ServiceSummary,
} from "@aws-sdk/client-servicediscovery";
import { epochSeconds } from "../model/ids.js";
import type { NamespaceRecord, ServiceRecord } from "../model/state.js";
import type { Wire } from "../protocol/handler.js";

// Shapes as Cloud Map returns them. ECS creates its services with a custom health check and, in
// DNS namespaces, a MULTIVALUE A record; that is what the sidecar will meet in real estates.

export function namespaceSummary(ns: NamespaceRecord): Wire<NamespaceSummary> {
  return {
    Id: ns.id,
    Arn: ns.arn,
    ResourceOwner: ns.owner,
    Name: ns.name,
    Type: ns.type,
    ...(ns.description === undefined ? {} : { Description: ns.description }),
    ServiceCount: ns.services.size,
    Properties: {
      DnsProperties:
        ns.type === "HTTP" ? {} : { HostedZoneId: `Z${ns.id.slice(3, 16).toUpperCase()}`, SOA: { TTL: 15 } },
      HttpProperties: { HttpName: ns.httpName },
    },
    CreateDate: epochSeconds(ns.createDate),
  };
}

export function namespaceDetail(ns: NamespaceRecord): Wire<Namespace> {
  return { ...namespaceSummary(ns), CreatorRequestId: `emulator-${ns.id}` };
}

export function serviceSummary(svc: ServiceRecord): Wire<ServiceSummary> {
  const dns = svc.namespace.type !== "HTTP";
  return {
    Id: svc.id,
    Arn: svc.arn,
    ResourceOwner: svc.namespace.owner,
    Name: svc.name,
    Type: dns ? "DNS_HTTP" : "HTTP",
    ...(svc.description === undefined ? {} : { Description: svc.description }),
    InstanceCount: svc.instances.size,
    ...(dns ? { DnsConfig: { RoutingPolicy: "MULTIVALUE", DnsRecords: [{ Type: "A", TTL: 60 }] } } : {}),
    ...(svc.healthCheck ? { HealthCheckCustomConfig: { FailureThreshold: 1 } } : {}),
    CreateDate: epochSeconds(svc.createDate),
    CreatedByAccount: svc.createdBy,
  };
}

export function serviceDetail(svc: ServiceRecord): Wire<Service> {
  const summary = serviceSummary(svc);
  return {
    ...summary,
    NamespaceId: svc.namespace.id,
    ...(summary.DnsConfig === undefined ? {} : { DnsConfig: { ...summary.DnsConfig, NamespaceId: svc.namespace.id } }),
    CreatorRequestId: `emulator-${svc.id}`,
  };
}
