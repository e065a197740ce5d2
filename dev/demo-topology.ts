import { type SampleApp, startSampleApp } from "./sample-app.js";
import type { TopologyInput } from "./emulator/index.js";

export const DEMO_CLUSTER = "demo-cluster";
export const NAMESPACES_PARAMETER = "ECS-ServiceDiscovery-Namespaces";
/** The workload account that shares a namespace with the demo's account (AWS RAM), and its role. */
export const WORKLOAD_ACCOUNT = "210987654321";
export const ECS_READER_ROLE = "cloudmap-sd-ecs-reader";
const DEMO_ACCOUNT = "123456789012";

/** Ports of the sample apps the demo started, one per registered task. */
export interface DemoPorts {
  readonly webapp: readonly number[];
  readonly orders: number;
  readonly ordersEcsExporter: number;
  readonly payments: number;
  readonly internalDb: number;
  /** The workload account's service, in the namespace it shares with the demo's account. */
  readonly inventory: number;
}

export interface DemoOptions {
  /**
   * Adds `workload-services`, a namespace the workload account shares through AWS RAM: its service
   * says where to scrape in Cloud Map service attributes (a consumer may not read its tags), and its
   * task is described with a role assumed in that account (ECS_ASSUME_ROLE=cloudmap-sd-ecs-reader).
   */
  readonly sharedNamespace?: boolean;
}

/**
 * The demo's estate, shaped like what ECS registers: a private DNS namespace (service discovery)
 * and an HTTP namespace (Service Connect). Every instance is a real sample app on 127.0.0.1, so
 * each instance carries its own AWS_INSTANCE_PORT and the services are tagged with a path only.
 */
export function demoTopology(ports: DemoPorts, options: DemoOptions = {}): TopologyInput {
  const taskId = (name: string, i: number) => `${name}${i}`.padEnd(32, "0").slice(0, 32);
  const instance = (service: string, family: string, id: string, port: number, zone: string, cluster = DEMO_CLUSTER) => ({
    id,
    attributes: {
      AWS_INSTANCE_IPV4: "127.0.0.1",
      AWS_INSTANCE_PORT: String(port),
      AVAILABILITY_ZONE: `us-east-1${zone}`,
      REGION: "us-east-1",
      ECS_CLUSTER_NAME: cluster,
      ECS_SERVICE_NAME: service,
      ECS_TASK_DEFINITION_FAMILY: family,
    },
  });
  const task = (id: string, family: string, service: string, zone: string) => ({
    cluster: DEMO_CLUSTER,
    taskId: id,
    taskDefinition: `${family}:1`,
    launchType: "FARGATE" as const,
    availabilityZone: `us-east-1${zone}`,
    group: `service:${service}`,
    tags: { team: "demo", "app.kubernetes.io/name": service },
  });
  const webappIds = ports.webapp.map((_, i) => taskId("a1b2c3web", i));
  const inventoryId = taskId("5badd0c5inv", 0);
  const shared = options.sharedNamespace === true;
  return {
    accountId: DEMO_ACCOUNT,
    ...(shared ? { roles: [{ arn: `arn:aws:iam::${WORKLOAD_ACCOUNT}:role/${ECS_READER_ROLE}` }] } : {}),
    namespaces: [
      {
        name: "ecs-services",
        type: "DNS_PRIVATE",
        services: [
          {
            name: "webapp-svc",
            tags: { METRICS_PATH: "/metrics" },
            instances: ports.webapp.map((port, i) => instance("WebAppService", "WebAppTask", webappIds[i] as string, port, "abc"[i % 3] as string)),
          },
          {
            name: "orders-svc",
            tags: { METRICS_PATH: "/metrics", ECS_METRICS_PATH: "/ecs-metrics", ECS_METRICS_PORT: String(ports.ordersEcsExporter) },
            instances: [instance("OrdersService", "OrdersTask", taskId("d4e5f6ord", 0), ports.orders, "a")],
          },
          {
            name: "internal-db",
            tags: {},
            instances: [instance("InternalDbService", "InternalDbTask", taskId("0badc0ffe", 0), ports.internalDb, "b")],
          },
        ],
      },
      {
        name: "ecs-connect",
        type: "HTTP",
        services: [
          {
            // Service Connect creates this service itself: no custom tags, so docker labels say where to scrape.
            name: "payments",
            tags: {},
            instances: [instance("PaymentsService", "PaymentsTask", taskId("9f8e7dpay", 0), ports.payments, "c")],
          },
        ],
      },
      ...(shared
        ? [
            {
              name: "workload-services",
              type: "HTTP" as const,
              owner: WORKLOAD_ACCOUNT,
              sharedWith: [DEMO_ACCOUNT],
              services: [
                {
                  name: "inventory-svc",
                  attributes: { METRICS_PATH: "/metrics" },
                  instances: [instance("InventoryService", "InventoryTask", inventoryId, ports.inventory, "a", "workload")],
                },
              ],
            },
          ]
        : []),
    ],
    parameters: { [NAMESPACES_PARAMETER]: { type: "StringList", value: shared ? "ecs-services,ecs-connect,workload-services" : "ecs-services,ecs-connect" } },
    ecs: {
      clusters: [DEMO_CLUSTER],
      taskDefinitions: [
        { family: "WebAppTask", containerDefinitions: [{ name: "webapp" }] },
        { family: "OrdersTask", containerDefinitions: [{ name: "orders" }, { name: "ecs-exporter" }] },
        { family: "InternalDbTask", containerDefinitions: [{ name: "db" }] },
        ...(shared ? [{ account: WORKLOAD_ACCOUNT, family: "InventoryTask", containerDefinitions: [{ name: "inventory" }] }] : []),
        {
          family: "PaymentsTask",
          containerDefinitions: [
            { name: "payments", dockerLabels: { PROMETHEUS_EXPORTER_PORT: String(ports.payments), PROMETHEUS_EXPORTER_PATH: "/metrics" } },
            { name: "envoy" },
          ],
        },
      ],
      tasks: [
        ...webappIds.map((id, i) => task(id, "WebAppTask", "WebAppService", "abc"[i % 3] as string)),
        task(taskId("d4e5f6ord", 0), "OrdersTask", "OrdersService", "a"),
        task(taskId("0badc0ffe", 0), "InternalDbTask", "InternalDbService", "b"),
        task(taskId("9f8e7dpay", 0), "PaymentsTask", "PaymentsService", "c"),
        ...(shared ? [{ ...task(inventoryId, "InventoryTask", "InventoryService", "a"), account: WORKLOAD_ACCOUNT, cluster: "workload" }] : []),
      ],
    },
  };
}

/** The instance and task the demo registers and deregisters while it runs. */
export function churnInstance(port: number, n: number) {
  const id = `c0ffee${String(n).padStart(4, "0")}`.padEnd(32, "0");
  return {
    id,
    attributes: {
      AWS_INSTANCE_IPV4: "127.0.0.1",
      AWS_INSTANCE_PORT: String(port),
      AVAILABILITY_ZONE: "us-east-1a",
      REGION: "us-east-1",
      ECS_CLUSTER_NAME: DEMO_CLUSTER,
      ECS_SERVICE_NAME: "WebAppService",
      ECS_TASK_DEFINITION_FAMILY: "WebAppTask",
    },
    task: {
      cluster: DEMO_CLUSTER,
      taskId: id,
      taskDefinition: "WebAppTask:1",
      launchType: "FARGATE" as const,
      availabilityZone: "us-east-1a",
      group: "service:WebAppService",
      tags: { team: "demo" },
    },
  };
}

/** Starts one sample app per task of the demo estate; the caller closes them. */
export async function startDemoApps(): Promise<{ apps: SampleApp[]; ports: DemoPorts }> {
  const start = (name: string, metricsPaths?: string[]) => startSampleApp({ name, ...(metricsPaths ? { metricsPaths } : {}) });
  const [webapp1, webapp2, orders, ordersEcs, payments, internalDb, inventory] = await Promise.all([
    start("webapp-1"),
    start("webapp-2"),
    start("orders"),
    start("orders-ecs-exporter", ["/ecs-metrics"]),
    start("payments"),
    start("internal-db"),
    start("inventory"),
  ]);
  return {
    apps: [webapp1, webapp2, orders, ordersEcs, payments, internalDb, inventory],
    ports: {
      webapp: [webapp1.port, webapp2.port],
      orders: orders.port,
      ordersEcsExporter: ordersEcs.port,
      payments: payments.port,
      internalDb: internalDb.port,
      inventory: inventory.port,
    },
  };
}
