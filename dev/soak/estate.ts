import type { EmulatorState, TopologyInput } from "../emulator/index.js";

/**
 * The soak's estate: a few namespaces of each kind, tagged services (one with a second, ECS
 * exporter endpoint), docker-label services whose tasks live in the emulated ECS, an untagged
 * service nobody scrapes, and two "churned" services whose instances come and go. Every other
 * service never changes, so each of its targets must be in every file the sidecar writes.
 */
export const NAMESPACES_PARAMETER = "ECS-ServiceDiscovery-Namespaces";
export const CLUSTER = "soak-cluster";

/** A service the soak registers into and deregisters from; nothing else changes. */
export interface ChurnedService {
  readonly namespace: string;
  readonly service: string;
  /** The port its targets get (its METRICS_PORT tag, or its task definition's docker label). */
  readonly port: number;
  /** Set for a docker-label service: each instance needs a task of this family in ECS. */
  readonly taskFamily?: string;
  /** First two octets of its instances' addresses; the soak numbers the rest. */
  readonly subnet: string;
}

export const CHURNED: readonly ChurnedService[] = [
  { namespace: "soak-dns", service: "churn-tagged", port: 9300, subnet: "10.20" },
  { namespace: "soak-connect", service: "churn-labelled", port: 7171, taskFamily: "ChurnTask", subnet: "10.21" },
];

const taskId = (prefix: string, n: number) => `${prefix}${n.toString(16)}`.padEnd(32, "0").slice(0, 32);

function ecsInstance(id: string, ip: string, family: string, extra: Record<string, string> = {}) {
  return {
    id,
    attributes: { AWS_INSTANCE_IPV4: ip, ECS_CLUSTER_NAME: CLUSTER, ECS_TASK_DEFINITION_FAMILY: family, ...extra },
  };
}

function task(id: string, family: string, ip: string) {
  return { cluster: CLUSTER, taskId: id, taskDefinition: `${family}:1`, group: `service:${family}`, privateIpv4Address: ip };
}

const plain = (id: string, ip: string, port?: number) => ({
  id,
  attributes: { AWS_INSTANCE_IPV4: ip, ...(port === undefined ? {} : { AWS_INSTANCE_PORT: String(port) }) },
});

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

export function soakTopology(): TopologyInput {
  const billingIds = range(2).map((i) => taskId("b111", i));
  const shopIds = range(3).map((i) => taskId("5b0b", i));
  return {
    namespaces: [
      {
        name: "soak-dns",
        type: "DNS_PRIVATE",
        services: [
          { name: "api", tags: { METRICS_PORT: "9100" }, instances: range(3).map((i) => plain(`api-${i}`, `10.10.0.${i}`)) },
          { name: "worker", tags: { METRICS_PATH: "/metrics" }, instances: range(2).map((i) => plain(`worker-${i}`, `10.10.1.${i}`, 8080)) },
          {
            name: "billing",
            tags: { METRICS_PORT: "9200", ECS_METRICS_PORT: "9779", ECS_METRICS_PATH: "/metrics" },
            instances: billingIds.map((id, i) => ecsInstance(id, `10.10.2.${i + 1}`, "BillingTask")),
          },
          { name: "untagged-plain", instances: [plain("quiet-1", "10.10.9.1", 8080)] },
          { name: "churn-tagged", tags: { METRICS_PORT: "9300" } },
        ],
      },
      {
        name: "soak-connect",
        type: "HTTP",
        services: [
          { name: "shop", instances: shopIds.map((id, i) => ecsInstance(id, `10.11.0.${i + 1}`, "ShopTask")) },
          { name: "churn-labelled" },
        ],
      },
      {
        name: "soak-extra",
        type: "DNS_PRIVATE",
        services: [{ name: "cache", tags: { METRICS_PORT: "9121" }, instances: range(4).map((i) => plain(`cache-${i}`, `10.12.0.${i}`)) }],
      },
    ],
    parameters: { [NAMESPACES_PARAMETER]: { type: "StringList", value: "soak-dns,soak-connect,soak-extra" } },
    ecs: {
      clusters: [CLUSTER],
      taskDefinitions: [
        { family: "BillingTask", containerDefinitions: [{ name: "billing" }, { name: "ecs-exporter" }] },
        { family: "ShopTask", containerDefinitions: [{ name: "shop", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "7070" } }, { name: "envoy" }] },
        { family: "ChurnTask", containerDefinitions: [{ name: "churn", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "7171" } }] },
      ],
      tasks: [
        ...billingIds.map((id, i) => task(id, "BillingTask", `10.10.2.${i + 1}`)),
        ...shopIds.map((id, i) => task(id, "ShopTask", `10.11.0.${i + 1}`)),
      ],
    },
  };
}

/** The addresses of every never-changed service: none may ever be missing from a written file. */
export const STABLE_TARGETS: ReadonlySet<string> = new Set([
  ...range(3).map((i) => `10.10.0.${i}:9100`),
  ...range(2).map((i) => `10.10.1.${i}:8080`),
  ...range(2).flatMap((i) => [`10.10.2.${i}:9200`, `10.10.2.${i}:9779`]),
  ...range(3).map((i) => `10.11.0.${i}:7070`),
  ...range(4).map((i) => `10.12.0.${i}:9121`),
]);

/** What the file must converge to: the stable targets plus the churned instances registered now. */
export function expectedTargets(state: EmulatorState): Set<string> {
  const expected = new Set(STABLE_TARGETS);
  for (const churned of CHURNED) {
    for (const instance of state.service(churned.namespace, churned.service).instances.values()) {
      expected.add(`${instance.attributes.AWS_INSTANCE_IPV4}:${churned.port}`);
    }
  }
  return expected;
}

/** Registers one more instance of a churned service (and its ECS task first, for a docker-label one). */
export function registerChurned(state: EmulatorState, churned: ChurnedService, n: number): void {
  const ip = `${churned.subnet}.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
  const id = churned.taskFamily === undefined ? `churn-${n}` : taskId("c4a2", n);
  if (churned.taskFamily !== undefined) {
    state.putTask({ ...task(id, churned.taskFamily, ip), launchType: "FARGATE", lastStatus: "RUNNING", desiredStatus: "RUNNING", healthStatus: "UNKNOWN", tags: {} });
    state.registerInstance(churned.namespace, churned.service, ecsInstance(id, ip, churned.taskFamily));
  } else {
    state.registerInstance(churned.namespace, churned.service, plain(id, ip));
  }
}

/** Deregisters one instance of a churned service (then removes its task, as ECS does). */
export function deregisterChurned(state: EmulatorState, churned: ChurnedService, id: string): void {
  state.deregisterInstance(churned.namespace, churned.service, id);
  if (churned.taskFamily !== undefined) state.removeTask(CLUSTER, id);
}

export function churnedInstanceIds(state: EmulatorState, churned: ChurnedService): string[] {
  return [...state.service(churned.namespace, churned.service).instances.keys()];
}
