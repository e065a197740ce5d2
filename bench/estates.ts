import type { EmulatorState, ServiceRecord, TaskSpec, Topology } from "../dev/emulator/index.js";
import { mulberry32, syntheticTopology } from "../dev/emulator/index.js";

export interface Estate {
  readonly name: string;
  readonly namespaces: number;
  readonly servicesPerNamespace: number;
  readonly instancesPerService: number;
  /**
   * Run the naive baseline too (and compare the files). Off for the largest estate: the naive
   * strategy needs ~80 s per cycle there and its file equality is already shown at 10,000.
   */
  readonly compare: boolean;
}

/** 20 instances per service everywhere, as in the 10,000 = 500 services × 20 in 5 namespaces. */
export const ESTATES: readonly Estate[] = [
  { name: "100", namespaces: 1, servicesPerNamespace: 5, instancesPerService: 20, compare: true },
  { name: "1,000", namespaces: 2, servicesPerNamespace: 25, instancesPerService: 20, compare: true },
  { name: "10,000", namespaces: 5, servicesPerNamespace: 100, instancesPerService: 20, compare: true },
  // Memory must scale with the estate, with no fixed cap a bigger estate falls off (issue 9).
  { name: "50,000", namespaces: 10, servicesPerNamespace: 250, instancesPerService: 20, compare: false },
];

export function instancesOf(estate: Estate): number {
  return estate.namespaces * estate.servicesPerNamespace * estate.instancesPerService;
}

export function topologyOf(estate: Estate): Topology {
  return syntheticTopology({
    namespaces: estate.namespaces,
    servicesPerNamespace: estate.servicesPerNamespace,
    instancesPerService: estate.instancesPerService,
    withEcs: true,
  });
}

/** Seeded, so every run churns the same instances and the numbers compare across runs. */
export const seededRandom = mulberry32;

/**
 * Changes the emulated estate the way ECS does: a task stops (its instance is deregistered from
 * Cloud Map and ECS forgets it) and a replacement task starts in the same service with a new id
 * and address (ECS runs it, then registers its instance).
 */
export class EstateMutator {
  private sequence = 0;

  constructor(
    private readonly state: EmulatorState,
    private readonly random: () => number,
  ) {}

  /** Replaces `fraction` of all instances, picked uniformly; returns how many services it touched. */
  churn(fraction: number): { replaced: number; services: number } {
    const all: Array<{ service: ServiceRecord; id: string }> = [];
    for (const service of this.state.services()) for (const id of service.instances.keys()) all.push({ service, id });
    const count = Math.max(1, Math.round(all.length * fraction));
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(this.random() * (all.length - i));
      [all[i], all[j]] = [all[j] as (typeof all)[number], all[i] as (typeof all)[number]];
    }
    const touched = new Set<string>();
    for (const { service, id } of all.slice(0, count)) {
      const attributes = { ...(service.instances.get(id)?.attributes ?? {}) };
      this.state.deregister(service, id);
      this.state.removeTask(attributes.ECS_CLUSTER_NAME ?? "", id);
      this.startTask(service, attributes);
      touched.add(service.id);
    }
    return { replaced: count, services: touched.size };
  }

  /** Starts one new task in a service that is scraped through its tags; returns its instance id. */
  addInstance(): string {
    const services = [...this.state.services()].filter((service) => service.tags.has("METRICS_PORT") && service.instances.size > 0);
    const service = services[Math.floor(this.random() * services.length)] as ServiceRecord;
    const template = service.instances.values().next().value;
    return this.startTask(service, { ...(template?.attributes ?? {}) });
  }

  private startTask(service: ServiceRecord, template: Record<string, string>): string {
    const sequence = this.sequence++;
    const id = Array.from({ length: 4 }, () => Math.floor(this.random() * 2 ** 32).toString(16).padStart(8, "0")).join("");
    // The synthetic estate numbers addresses 10.<namespace>.0-7.x; replacements take 10.<namespace>.128+.x.
    const [a = "10", b = "0"] = (template.AWS_INSTANCE_IPV4 ?? "").split(".");
    const ip = `${a}.${b}.${128 + ((sequence >> 8) & 127)}.${sequence & 255}`;
    const cluster = template.ECS_CLUSTER_NAME ?? "default";
    const task: TaskSpec = {
      cluster,
      taskId: id,
      taskDefinition: `${template.ECS_TASK_DEFINITION_FAMILY ?? "unknown"}:1`,
      launchType: "FARGATE",
      availabilityZone: template.AVAILABILITY_ZONE,
      group: `service:${service.name}`,
      lastStatus: "RUNNING",
      desiredStatus: "RUNNING",
      healthStatus: "HEALTHY",
      privateIpv4Address: ip,
      startedBy: "ecs-svc/synthetic",
      tags: { "aws:ecs:serviceName": service.name, "aws:ecs:clusterName": cluster },
    };
    this.state.putTask(task);
    this.state.register(service, { id, attributes: { ...template, AWS_INSTANCE_IPV4: ip } });
    return id;
  }
}
