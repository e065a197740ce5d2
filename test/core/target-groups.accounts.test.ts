// Targets across accounts (account labels only where accounts differ), the service-attribute
// channel, and bridge/host tasks reached on their host ports.
import { describe, expect, it } from "vitest";
import { Label } from "../../src/core/labels.js";
import type { ServiceSnapshot } from "../../src/core/model.js";
import { buildTargetGroups } from "../../src/core/target-groups.js";
import { ACCOUNT, ecsTask, instance, namespace, snapshot, taskArn, taskDefinition } from "../helpers/fixtures.js";

const WORKLOAD = "222233334444";
const sharedNamespace = namespace({
  owner: WORKLOAD,
  shared: true,
  arn: `arn:aws:servicediscovery:eu-west-1:${WORKLOAD}:namespace/ns-prod0000000000001`,
});

function labelsOf(snapshots: ServiceSnapshot[]): Array<Record<string, string>> {
  return buildTargetGroups(snapshots).groups.map((group) => ({ ...group.labels }));
}

describe("account labels", () => {
  it("are set on the targets of a shared namespace: owner, creating account and region", () => {
    const shared = snapshot({ namespace: sharedNamespace, tags: { METRICS_PATH: "/metrics" }, instances: [instance("t1")] });
    const withCreator = { ...shared, service: { ...shared.service, createdBy: WORKLOAD } };

    const [labels] = labelsOf([withCreator]);

    expect(labels).toMatchObject({ [Label.namespaceOwner]: WORKLOAD, [Label.serviceCreatorAccount]: WORKLOAD, [Label.region]: "eu-west-1" });
  });

  it("are set when a consumer account created the service in one's own namespace", () => {
    const own = snapshot({ namespace: namespace({ owner: ACCOUNT }), tags: { METRICS_PATH: "/metrics" }, instances: [instance("t1")] });
    const byConsumer = { ...own, service: { ...own.service, createdBy: WORKLOAD } };

    const [labels] = labelsOf([byConsumer]);

    expect(labels).toMatchObject({ [Label.namespaceOwner]: ACCOUNT, [Label.serviceCreatorAccount]: WORKLOAD });
    expect(labels?.[Label.region]).toBeUndefined(); // no ARN known: no region label rather than a guess
  });

  it("are left out in a single-account estate, so its file is byte-identical to before", () => {
    const plain = snapshot({ tags: { METRICS_PATH: "/metrics" }, instances: [instance("t1")] });
    const own = { ...plain, service: { ...plain.service, createdBy: ACCOUNT, namespace: namespace({ owner: ACCOUNT, arn: "arn:aws:servicediscovery:eu-west-1:123456789012:namespace/ns-1" }) } };

    expect(buildTargetGroups([own]).groups).toEqual(buildTargetGroups([plain]).groups);
  });
});

describe("service attributes", () => {
  it("decide the endpoint when the tags name none, and appear as __meta_cloudmap_service_attribute_*", () => {
    const subject = { ...snapshot({ tags: {}, instances: [instance("t1")] }), serviceAttributes: { METRICS_PORT: "9200", "team.name": "web" } };

    const { groups } = buildTargetGroups([subject]);

    expect(groups.map((group) => group.targets[0])).toEqual(["10.0.1.5:9200"]);
    expect(groups[0]?.labels).toMatchObject({ [`${Label.serviceAttributePrefix}METRICS_PORT`]: "9200", [`${Label.serviceAttributePrefix}team_name`]: "web" });
  });

  it("lose to tags that name an endpoint", () => {
    const subject = { ...snapshot({ tags: { METRICS_PORT: "9100" }, instances: [instance("t1")] }), serviceAttributes: { METRICS_PORT: "9200" } };

    expect(buildTargetGroups([subject]).groups.map((group) => group.targets[0])).toEqual(["10.0.1.5:9100"]);
  });
});

describe("bridge and host tasks", () => {
  const labelled = (networkMode: string | undefined) => ({
    ...taskDefinition("web", 7, [
      { name: "app", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9404" } },
      { name: "envoy", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9901" } },
    ]),
    ...(networkMode ? { networkMode } : {}),
  });
  const bridgeSnapshot = (networkMode: string | undefined, portBindings = [{ container: "app", containerPort: 9404, hostPort: 32768 }]) =>
    snapshot({
      tags: {},
      // ECS registers the host's address and the host port of the service's container.
      instances: [instance("t1", { AWS_INSTANCE_IPV4: "10.0.9.9", AWS_INSTANCE_PORT: "32768" })],
      ecsTasks: [ecsTask("t1", { portBindings })],
      ecsTaskDefinitions: [labelled(networkMode)],
    });

  it("scrape a docker-label port on the host port ECS bound it to, at the address Cloud Map registered", () => {
    const { groups, skips } = buildTargetGroups([bridgeSnapshot("bridge")]);

    expect(groups.map((group) => group.targets[0])).toEqual(["10.0.9.9:32768"]);
    expect(skips).toEqual([
      {
        reason: "no_host_port",
        namespace: "prod.local",
        service: "web",
        detail: `task ${taskArn("t1")} container envoy does not publish port 9901 on its host (bridge network mode)`,
      },
    ]);
  });

  it("in host mode, scrape an unbound port as it is: the container listens on the host itself", () => {
    const { groups, skips } = buildTargetGroups([bridgeSnapshot("host")]);

    expect(groups.map((group) => group.targets[0]).sort()).toEqual(["10.0.9.9:32768", "10.0.9.9:9901"]);
    expect(skips).toEqual([]);
  });

  it("leave awsvpc tasks (and definitions without a network mode whose task has no host bindings) on the label's port", () => {
    expect(buildTargetGroups([bridgeSnapshot("awsvpc")]).groups.map((group) => group.targets[0]).sort()).toEqual(["10.0.9.9:9404", "10.0.9.9:9901"]);
    expect(buildTargetGroups([bridgeSnapshot(undefined, [])]).groups.map((group) => group.targets[0]).sort()).toEqual(["10.0.9.9:9404", "10.0.9.9:9901"]);
  });

  it("treat a definition without a network mode whose task has host bindings as bridge (ECS's default on EC2 Linux, which DescribeTaskDefinition omits)", () => {
    const { groups, skips } = buildTargetGroups([bridgeSnapshot(undefined)]);

    expect(groups.map((group) => group.targets[0])).toEqual(["10.0.9.9:32768"]);
    expect(skips.map((skip) => skip.reason)).toEqual(["no_host_port"]);
  });

  it("keep AWS_INSTANCE_PORT for tag-driven targets unless a tag names a port", () => {
    const tagged = (tags: Record<string, string>) =>
      snapshot({ tags, instances: [instance("t1", { AWS_INSTANCE_IPV4: "10.0.9.9", AWS_INSTANCE_PORT: "32768" })], ecsTasks: [ecsTask("t1", { portBindings: [{ container: "app", containerPort: 8080, hostPort: 32768 }] })] });

    expect(buildTargetGroups([tagged({ METRICS_PATH: "/metrics" })]).groups.map((group) => group.targets[0])).toEqual(["10.0.9.9:32768"]);
    expect(buildTargetGroups([tagged({ METRICS_PORT: "9100" })]).groups.map((group) => group.targets[0])).toEqual(["10.0.9.9:9100"]);
  });
});
