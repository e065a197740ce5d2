import { describe, expect, it } from "vitest";
import { renderTargetGroups } from "../../src/core/render.js";
import { buildTargetGroups } from "../../src/core/target-groups.js";
import type { ServiceSnapshot, TargetGroup } from "../../src/core/model.js";
import { ecsTask, instance, namespace, shuffled, snapshot, taskArn, taskDefinition, taskDefinitionArn } from "../helpers/fixtures.js";

const TASK_ID = "4d1ec7e0a3d54c6a9a3b2f1e0c9d8b7a";

function targetsOf(groups: readonly TargetGroup[]): string[] {
  return groups.flatMap((group) => group.targets);
}

describe("buildTargetGroups", () => {
  describe("labels", () => {
    it("labels a tagged ECS instance with the plain labels and every discovered fact as __meta_cloudmap_*", () => {
      // Prepare
      const snapshots = [
        snapshot({
          serviceName: "web",
          serviceId: "srv-abcdef0123456789",
          namespace: namespace({ id: "ns-0123456789abcdef", name: "prod.local", type: "DNS_PRIVATE" }),
          tags: { METRICS_PATH: "/actuator/prometheus", "aws:cloudformation:stack-name": "web-stack", team: "payments" },
          instances: [instance(TASK_ID, { AWS_INSTANCE_IPV4: "10.0.1.5", AWS_INSTANCE_PORT: "8080", "custom-attr.v2": "x" })],
        }),
      ];

      // Act
      const { groups, skips } = buildTargetGroups(snapshots);

      // Assess
      expect(skips).toEqual([]);
      expect(groups).toHaveLength(1);
      expect(groups[0]?.targets).toEqual(["10.0.1.5:8080"]);
      expect(groups[0]?.labels).toStrictEqual({
        __metrics_path__: "/actuator/prometheus",
        cluster: "prod",
        service: "web",
        taskdefinition: "web",
        namespace: "prod.local",
        taskid: TASK_ID,
        __meta_cloudmap_endpoint: "app",
        __meta_cloudmap_namespace_name: "prod.local",
        __meta_cloudmap_namespace_id: "ns-0123456789abcdef",
        __meta_cloudmap_namespace_type: "DNS_PRIVATE",
        __meta_cloudmap_service_name: "web",
        __meta_cloudmap_service_id: "srv-abcdef0123456789",
        __meta_cloudmap_instance_id: TASK_ID,
        __meta_cloudmap_instance_health_status: "HEALTHY",
        __meta_cloudmap_attribute_AWS_INSTANCE_IPV4: "10.0.1.5",
        __meta_cloudmap_attribute_AWS_INSTANCE_PORT: "8080",
        __meta_cloudmap_attribute_AVAILABILITY_ZONE: "eu-west-1a",
        __meta_cloudmap_attribute_ECS_CLUSTER_NAME: "prod",
        __meta_cloudmap_attribute_ECS_SERVICE_NAME: "web",
        __meta_cloudmap_attribute_ECS_TASK_DEFINITION_FAMILY: "web",
        __meta_cloudmap_attribute_REGION: "eu-west-1",
        __meta_cloudmap_attribute_custom_attr_v2: "x",
        __meta_cloudmap_tag_METRICS_PATH: "/actuator/prometheus",
        __meta_cloudmap_tag_aws_cloudformation_stack_name: "web-stack",
        __meta_cloudmap_tag_team: "payments",
      });
    });

    it("leaves optional labels out (not empty) when the instance does not carry the fact", () => {
      // Prepare
      const bare = instance(
        "manual-1",
        { ECS_CLUSTER_NAME: undefined, ECS_SERVICE_NAME: undefined, ECS_TASK_DEFINITION_FAMILY: undefined },
        null,
      );

      // Act
      const { groups } = buildTargetGroups([snapshot({ instances: [bare] })]);

      // Assess
      const labels = groups[0]?.labels ?? {};
      for (const name of ["cluster", "service", "taskdefinition", "__meta_cloudmap_instance_health_status"]) {
        expect(labels).not.toHaveProperty(name);
      }
      expect(Object.keys(labels).filter((name) => name.startsWith("__meta_ecs_"))).toEqual([]);
      expect(labels).toMatchObject({ taskid: "manual-1", namespace: "prod.local" });
    });

    it("treats an empty ECS_CLUSTER_NAME attribute as absent for the plain label, but keeps the raw attribute", () => {
      const { groups } = buildTargetGroups([snapshot({ instances: [instance("t1", { ECS_CLUSTER_NAME: "" })] })]);

      expect(groups[0]?.labels).not.toHaveProperty("cluster");
      expect(groups[0]?.labels).toHaveProperty("__meta_cloudmap_attribute_ECS_CLUSTER_NAME", "");
    });

    it("adds __meta_ecs_* labels from the ECS task, with its tags sanitised", () => {
      // Prepare
      const task = ecsTask(TASK_ID, {
        taskDefinitionArn: taskDefinitionArn("web", 42),
        launchType: "EC2",
        availabilityZone: "eu-west-1b",
        group: "service:web",
        containerInstanceArn: "arn:aws:ecs:eu-west-1:123456789012:container-instance/prod/abc",
        lastStatus: "RUNNING",
        desiredStatus: "RUNNING",
        healthStatus: "UNKNOWN",
        tags: { "aws:ecs:serviceName": "web", "cost-center": "42" },
      });

      // Act
      const { groups } = buildTargetGroups([snapshot({ instances: [instance(TASK_ID)], ecsTasks: [task] })]);

      // Assess
      const ecsLabels = Object.fromEntries(Object.entries(groups[0]?.labels ?? {}).filter(([name]) => name.startsWith("__meta_ecs_")));
      expect(ecsLabels).toStrictEqual({
        __meta_ecs_task_arn: `arn:aws:ecs:eu-west-1:123456789012:task/prod/${TASK_ID}`,
        __meta_ecs_cluster_arn: "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
        __meta_ecs_task_definition: "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:42",
        __meta_ecs_task_definition_revision: "42",
        __meta_ecs_launch_type: "EC2",
        __meta_ecs_availability_zone: "eu-west-1b",
        __meta_ecs_task_group: "service:web",
        __meta_ecs_container_instance_arn: "arn:aws:ecs:eu-west-1:123456789012:container-instance/prod/abc",
        __meta_ecs_tag_task_aws_ecs_serviceName: "web",
        __meta_ecs_tag_task_cost_center: "42",
      });
    });

    it("emits only the task ARN when ECS reports nothing else about the task", () => {
      const task = { taskArn: `arn:aws:ecs:eu-west-1:123456789012:task/prod/${TASK_ID}`, tags: {} };

      const { groups } = buildTargetGroups([snapshot({ instances: [instance(TASK_ID)], ecsTasks: [task] })]);

      const ecsLabels = Object.keys(groups[0]?.labels ?? {}).filter((name) => name.startsWith("__meta_ecs_"));
      expect(ecsLabels).toEqual(["__meta_ecs_task_arn"]);
    });

    it("does not attach one task's labels to another instance", () => {
      const { groups } = buildTargetGroups([
        snapshot({
          instances: [instance("t1", { AWS_INSTANCE_IPV4: "10.0.1.1" }), instance("t2", { AWS_INSTANCE_IPV4: "10.0.1.2" })],
          ecsTasks: [ecsTask("t1")],
        }),
      ]);

      expect(groups.map((group) => group.labels.__meta_ecs_task_arn)).toEqual([expect.stringMatching(/\/t1$/), undefined]);
    });
  });

  describe("label names that sanitise alike", () => {
    // "a-b", "a.b" and "a_b" all become the label suffix a_b. AWS returns tags and attributes in no
    // fixed order, so the winner must not depend on it: the name last in code-unit order wins
    // ("-" < "." < "_"), and the file stays byte-identical from one cycle to the next.
    const colliding: ReadonlyArray<readonly [string, string]> = [
      ["a_b", "underscore"],
      ["a-b", "dash"],
      ["a.b", "dot"],
    ];
    const inOrder = (order: readonly number[]) => Object.fromEntries(order.map((i) => colliding[i] as readonly [string, string]));
    const orders = [
      [0, 1, 2],
      [2, 1, 0],
      [1, 0, 2],
    ];

    it.each<[string, string, (values: Record<string, string>) => ServiceSnapshot]>([
      ["Cloud Map tags", "__meta_cloudmap_tag_a_b", (tags) => snapshot({ tags: { METRICS_PATH: "/metrics", ...tags }, instances: [instance(TASK_ID)] })],
      ["instance attributes", "__meta_cloudmap_attribute_a_b", (attributes) => snapshot({ instances: [instance(TASK_ID, attributes)] })],
      ["ECS task tags", "__meta_ecs_tag_task_a_b", (tags) => snapshot({ instances: [instance(TASK_ID)], ecsTasks: [ecsTask(TASK_ID, { tags })] })],
    ])("for %s, gives the same label and value whatever order AWS returned the names in", (_source, label, build) => {
      // Prepare
      const inputs = orders.map((order) => build(inOrder(order)));
      expect(new Set(orders.map((order) => Object.keys(inOrder(order)).join()))).toHaveProperty("size", orders.length);

      // Act
      const outputs = inputs.map((input) => buildTargetGroups([input]).groups);

      // Assess
      for (const groups of outputs) {
        expect(groups).toHaveLength(1);
        expect(groups[0]?.labels[label]).toBe("underscore");
        expect(Object.keys(groups[0]?.labels ?? {}).filter((name) => name.endsWith("a_b"))).toEqual([label]);
      }
      const rendered = outputs.map((groups) => renderTargetGroups(groups));
      expect(new Set(rendered).size).toBe(1);
    });
  });

  describe("label names worked out once per name", () => {
    it("gives one map read under two prefixes both label sets, and the same labels on a rebuild", () => {
      // Prepare: the same names as the service's tags and its service attributes (label names are
      // cached per name, so the prefix must be part of what is cached).
      const shared = { METRICS_PATH: "/metrics", "team.name": "payments" };
      const input: ServiceSnapshot = { ...snapshot({ tags: shared, instances: [instance(TASK_ID)] }), serviceAttributes: shared };

      // Act
      const first = buildTargetGroups([input]).groups;
      const second = buildTargetGroups([input]).groups;

      // Assess
      expect(first[0]?.labels).toMatchObject({
        __meta_cloudmap_tag_team_name: "payments",
        __meta_cloudmap_service_attribute_team_name: "payments",
        __meta_cloudmap_tag_METRICS_PATH: "/metrics",
        __meta_cloudmap_service_attribute_METRICS_PATH: "/metrics",
      });
      expect(second).toStrictEqual(first);
    });

    it("labels every name right when an estate has more distinct names than the cache keeps", () => {
      // Prepare: 10,050 distinct attribute names over 201 instances (the cache starts over at 10,000).
      const instances = Array.from({ length: 201 }, (_, i) =>
        instance(`task-${i}`, Object.fromEntries(Array.from({ length: 50 }, (_, j) => [`attr-${i}.${j}`, `v${i}/${j}`]))),
      );

      // Act
      const { groups } = buildTargetGroups([snapshot({ instances })]);

      // Assess
      expect(groups).toHaveLength(201);
      for (const group of groups) {
        const i = Number(group.labels.__meta_cloudmap_instance_id?.slice("task-".length));
        for (let j = 0; j < 50; j++) expect(group.labels[`__meta_cloudmap_attribute_attr_${i}_${j}`]).toBe(`v${i}/${j}`);
      }
    });
  });

  describe("ports", () => {
    it.each<[string, Record<string, string>, Record<string, string | undefined>, string]>([
      ["the METRICS_PORT tag wins over the instance port", { METRICS_PORT: "9100" }, { AWS_INSTANCE_PORT: "8080" }, "10.0.1.5:9100"],
      ["the instance's AWS_INSTANCE_PORT applies without a port tag", { METRICS_PATH: "/metrics" }, { AWS_INSTANCE_PORT: "8080" }, "10.0.1.5:8080"],
      ["80 applies without either", { METRICS_PATH: "/metrics" }, { AWS_INSTANCE_PORT: undefined }, "10.0.1.5:80"],
      ["the tag wins even over an invalid instance port", { METRICS_PORT: "9100" }, { AWS_INSTANCE_PORT: "abc" }, "10.0.1.5:9100"],
    ])("%s", (_name, tags, attributes, target) => {
      const { groups, skips } = buildTargetGroups([snapshot({ tags, instances: [instance("t1", attributes)] })]);

      expect(targetsOf(groups)).toEqual([target]);
      expect(skips).toEqual([]);
    });

    it.each(["abc", "0", "70000", ""])("skips an instance whose AWS_INSTANCE_PORT is %j, with a reason", (port) => {
      // Prepare
      const instances = [instance("bad", { AWS_INSTANCE_PORT: port }), instance("good", { AWS_INSTANCE_IPV4: "10.0.1.6" })];

      // Act
      const { groups, skips } = buildTargetGroups([snapshot({ tags: { METRICS_PATH: "/metrics" }, instances })]);

      // Assess
      expect(targetsOf(groups)).toEqual(["10.0.1.6:8080"]);
      expect(skips).toEqual([
        { reason: "invalid_instance_port", namespace: "prod.local", service: "web", detail: expect.stringContaining("bad") },
      ]);
    });
  });

  describe("skips", () => {
    it.each<[string, Record<string, string | undefined>]>([
      ["no AWS_INSTANCE_IPV4 attribute", { AWS_INSTANCE_IPV4: undefined }],
      ["an empty AWS_INSTANCE_IPV4 attribute", { AWS_INSTANCE_IPV4: "" }],
    ])("skips an instance with %s (and no IPv6 address) as missing_address and keeps the others", (_name, attributes) => {
      // Prepare
      const instances = [instance("no-ip", attributes), instance("with-ip", { AWS_INSTANCE_IPV4: "10.0.1.6" })];

      // Act
      const { groups, skips } = buildTargetGroups([snapshot({ instances })]);

      // Assess
      expect(targetsOf(groups)).toEqual(["10.0.1.6:8080"]);
      expect(skips).toEqual([{ reason: "missing_address", namespace: "prod.local", service: "web", detail: expect.stringContaining("no-ip") }]);
    });

    it.each<[Record<string, string>, string]>([
      [{ METRICS_PORT: "abc" }, "invalid_metrics_port"],
      [{ METRICS_PORT: "70000" }, "invalid_metrics_port"],
      [{ METRICS_PATH: "metrics" }, "invalid_metrics_path"],
      [{ METRICS_PATH: "/metrics", ECS_METRICS_PATH: "/ecs" }, "invalid_ecs_metrics_port"],
      [{ METRICS_PATH: "/metrics", ECS_METRICS_PATH: "ecs", ECS_METRICS_PORT: "9779" }, "invalid_ecs_metrics_path"],
    ])("skips the whole service tagged %j as %s, once, and still builds the others", (tags, reason) => {
      // Prepare
      const broken = snapshot({
        serviceName: "broken",
        tags,
        instances: [instance("b1", { AWS_INSTANCE_IPV4: "10.0.2.1" }), instance("b2", { AWS_INSTANCE_IPV4: "10.0.2.2" })],
      });
      const healthy = snapshot({ serviceName: "web", instances: [instance("w1", { AWS_INSTANCE_IPV4: "10.0.1.1" })] });

      // Act
      const { groups, skips } = buildTargetGroups([broken, healthy]);

      // Assess
      expect(targetsOf(groups)).toEqual(["10.0.1.1:8080"]);
      expect(skips).toEqual([{ reason, namespace: "prod.local", service: "broken", detail: expect.any(String) }]);
    });

    it("builds nothing and reports nothing for an untagged service without task definitions", () => {
      const untagged = snapshot({ tags: { team: "payments" }, ecsTasks: [ecsTask("task-1")] });

      expect(buildTargetGroups([untagged])).toEqual({ groups: [], skips: [] });
    });

    it("builds nothing for a service without instances", () => {
      expect(buildTargetGroups([snapshot({ instances: [] })])).toEqual({ groups: [], skips: [] });
    });
  });

  describe("the ECS endpoint", () => {
    it("adds a second group per instance, told apart by __meta_cloudmap_endpoint", () => {
      // Prepare
      const tagged = snapshot({
        tags: { METRICS_PATH: "/metrics", ECS_METRICS_PATH: "/ecs-metrics", ECS_METRICS_PORT: "9779" },
        instances: [instance("t1", { AWS_INSTANCE_IPV4: "10.0.1.5", AWS_INSTANCE_PORT: "8080" })],
      });

      // Act
      const { groups } = buildTargetGroups([tagged]);

      // Assess
      expect(groups.map((group) => [group.targets, group.labels.__meta_cloudmap_endpoint, group.labels.__metrics_path__])).toEqual([
        [["10.0.1.5:8080"], "app", "/metrics"],
        [["10.0.1.5:9779"], "ecs", "/ecs-metrics"],
      ]);
      // Everything but the endpoint is the same instance.
      const strip = ({ labels }: TargetGroup) => {
        const { __meta_cloudmap_endpoint: _e, __metrics_path__: _p, ...rest } = labels;
        return rest;
      };
      expect(strip(groups[0] as TargetGroup)).toEqual(strip(groups[1] as TargetGroup));
    });
  });

  describe("docker-label endpoints (task definitions present)", () => {
    const definition = taskDefinition("web", 7, [
      { name: "app", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "8080", PROMETHEUS_EXPORTER_PATH: "/actuator/prometheus" } },
      { name: "envoy", dockerLabels: {} },
      {
        name: "exporter",
        dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9100", PROMETHEUS_EXPORTER_SCHEME: "https", PROMETHEUS_EXPORTER_JOB_NAME: "node" },
      },
    ]);

    it("scrapes every labelled container of an untagged service's task", () => {
      // Prepare
      const untagged = snapshot({
        tags: {},
        instances: [instance("t1", { AWS_INSTANCE_IPV4: "10.0.1.5" })],
        ecsTasks: [ecsTask("t1", { taskDefinitionArn: definition.arn })],
        ecsTaskDefinitions: [definition],
      });

      // Act
      const { groups, skips } = buildTargetGroups([untagged]);

      // Assess
      expect(skips).toEqual([]);
      expect(
        groups.map(({ targets, labels }) => ({
          targets,
          path: labels.__metrics_path__,
          endpoint: labels.__meta_cloudmap_endpoint,
          container: labels.__meta_ecs_container_name,
          scheme: labels.__scheme__,
          job: labels.job,
        })),
      ).toEqual([
        { targets: ["10.0.1.5:8080"], path: "/actuator/prometheus", endpoint: "docker_label", container: "app", scheme: undefined, job: undefined },
        { targets: ["10.0.1.5:9100"], path: "/metrics", endpoint: "docker_label", container: "exporter", scheme: "https", job: "node" },
      ]);
      expect(groups[0]?.labels).not.toHaveProperty("__scheme__");
      expect(groups[0]?.labels).not.toHaveProperty("job");
    });

    it("prefers tags over docker labels", () => {
      const tagged = snapshot({
        tags: { METRICS_PORT: "3000" },
        instances: [instance("t1", { AWS_INSTANCE_IPV4: "10.0.1.5" })],
        ecsTasks: [ecsTask("t1", { taskDefinitionArn: definition.arn })],
        ecsTaskDefinitions: [definition],
      });

      const { groups } = buildTargetGroups([tagged]);

      expect(groups.map((group) => [group.targets[0], group.labels.__meta_cloudmap_endpoint])).toEqual([["10.0.1.5:3000", "app"]]);
    });

    it("reports invalid docker labels and keeps the container's valid siblings", () => {
      // Prepare
      const mixed = taskDefinition("web", 8, [
        { name: "bad", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "http" } },
        { name: "good", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "8080" } },
      ]);
      const untagged = snapshot({
        tags: {},
        instances: [instance("t1", { AWS_INSTANCE_IPV4: "10.0.1.5" })],
        ecsTasks: [ecsTask("t1", { taskDefinitionArn: mixed.arn })],
        ecsTaskDefinitions: [mixed],
      });

      // Act
      const { groups, skips } = buildTargetGroups([untagged]);

      // Assess
      expect(targetsOf(groups)).toEqual(["10.0.1.5:8080"]);
      expect(skips).toEqual([
        { reason: "invalid_docker_label", namespace: "prod.local", service: "web", detail: expect.stringContaining("container bad") },
      ]);
    });

    it("builds nothing for an instance without a known task or task definition", () => {
      const untagged = snapshot({
        tags: {},
        instances: [instance("no-task"), instance("unknown-definition", { AWS_INSTANCE_IPV4: "10.0.1.6" })],
        ecsTasks: [ecsTask("unknown-definition", { taskDefinitionArn: taskDefinitionArn("other", 1) })],
        ecsTaskDefinitions: [definition],
      });

      expect(buildTargetGroups([untagged])).toEqual({ groups: [], skips: [] });
    });
  });

  describe("dropStoppedTasks", () => {
    // Every status ECS moves a task through once it has been told to stop.
    const STOPPED_STATUSES = ["DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED", "DELETED"];
    const LIVE_STATUSES = ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING"];
    const instances = [
      instance("running", { AWS_INSTANCE_IPV4: "10.0.1.1" }),
      instance("stopping", { AWS_INSTANCE_IPV4: "10.0.1.2" }),
      instance("stopped", { AWS_INSTANCE_IPV4: "10.0.1.3" }),
      instance("unknown", { AWS_INSTANCE_IPV4: "10.0.1.4" }),
    ];
    const ecsTasks = [
      ecsTask("running", { lastStatus: "RUNNING" }),
      ecsTask("stopping", { lastStatus: "DEACTIVATING" }),
      ecsTask("stopped", { lastStatus: "STOPPED" }),
    ];

    it("leaves out tasks ECS reports as stopping or stopped, with a reason, when asked", () => {
      const { groups, skips } = buildTargetGroups([snapshot({ instances, ecsTasks })], { dropStoppedTasks: true });

      expect(targetsOf(groups)).toEqual(["10.0.1.1:8080", "10.0.1.4:8080"]);
      expect(skips.map((skip) => [skip.reason, skip.detail])).toEqual([
        ["ecs_task_stopped", expect.stringContaining("DEACTIVATING")],
        ["ecs_task_stopped", expect.stringContaining("STOPPED")],
      ]);
    });

    it("keeps them by default", () => {
      const { groups, skips } = buildTargetGroups([snapshot({ instances, ecsTasks })]);

      expect(targetsOf(groups)).toEqual(["10.0.1.1:8080", "10.0.1.2:8080", "10.0.1.3:8080", "10.0.1.4:8080"]);
      expect(skips).toEqual([]);
    });

    it.each(STOPPED_STATUSES)("with the option, leaves out a %s task as ecs_task_stopped and keeps its running sibling", (status) => {
      // Prepare
      const estate = snapshot({
        instances: [instance("leaving", { AWS_INSTANCE_IPV4: "10.0.1.2" }), instance("staying", { AWS_INSTANCE_IPV4: "10.0.1.1" })],
        ecsTasks: [ecsTask("leaving", { lastStatus: status }), ecsTask("staying", { lastStatus: "RUNNING" })],
      });

      // Act
      const { groups, skips } = buildTargetGroups([estate], { dropStoppedTasks: true });

      // Assess
      expect(targetsOf(groups)).toEqual(["10.0.1.1:8080"]);
      expect(skips).toEqual([
        { reason: "ecs_task_stopped", namespace: "prod.local", service: "web", detail: `task ${taskArn("leaving")} is ${status}` },
      ]);
    });

    it.each([...STOPPED_STATUSES.map((status) => [status, false] as const), ...LIVE_STATUSES.map((status) => [status, true] as const)])(
      "keeps a %s task when dropStoppedTasks is %s",
      (status, dropStoppedTasks) => {
        const estate = snapshot({ instances: [instance("t1")], ecsTasks: [ecsTask("t1", { lastStatus: status })] });

        const { groups, skips } = buildTargetGroups([estate], { dropStoppedTasks });

        expect(targetsOf(groups)).toEqual(["10.0.1.5:8080"]);
        expect(skips).toEqual([]);
      },
    );
  });

  describe("order", () => {
    function estate(): ServiceSnapshot[] {
      const staging = namespace({ id: "ns-staging", name: "staging.local" });
      return [
        snapshot({
          serviceName: "web",
          tags: { METRICS_PATH: "/metrics", ECS_METRICS_PATH: "/metrics", ECS_METRICS_PORT: "9779" },
          instances: ["10.0.1.9", "10.0.1.10", "10.0.1.2", "10.0.2.1"].map((ip, i) => instance(`web-${i}`, { AWS_INSTANCE_IPV4: ip })),
        }),
        snapshot({
          serviceName: "api",
          tags: { METRICS_PORT: "9100" },
          instances: ["10.0.3.1", "10.0.1.9"].map((ip, i) => instance(`api-${i}`, { AWS_INSTANCE_IPV4: ip })),
        }),
        snapshot({
          serviceName: "web",
          serviceId: "srv-web-staging",
          namespace: staging,
          instances: [instance("stg-0", { AWS_INSTANCE_IPV4: "10.1.0.1" })],
        }),
      ];
    }

    function shuffledEstate(seed: number): ServiceSnapshot[] {
      return shuffled(estate(), seed).map((entry, i) => ({ ...entry, instances: shuffled(entry.instances, seed * 31 + i) }));
    }

    it.each([1, 2, 3, 4, 5, 6, 7, 8])("gives identical output whatever the input order (shuffle %d)", (seed) => {
      // Prepare
      const expected = renderTargetGroups(buildTargetGroups(estate()).groups);

      // Act
      const actual = renderTargetGroups(buildTargetGroups(shuffledEstate(seed)).groups);

      // Assess
      expect(actual).toBe(expected);
    });

    it("shuffling really reorders the input (so the test above can fail)", () => {
      const orders = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((seed) => shuffledEstate(seed).flatMap((s) => s.instances.map((i) => i.id)).join()));

      expect(orders.size).toBeGreaterThan(1);
    });

    it("gives identical output when two instances of a service share an address (a stale registration)", () => {
      // Prepare: the same IP:port registered under two instance ids, e.g. a replaced task not yet deregistered.
      const stale = instance("old-task", { AWS_INSTANCE_IPV4: "10.0.1.5" }, "UNHEALTHY");
      const current = instance("new-task", { AWS_INSTANCE_IPV4: "10.0.1.5" }, "HEALTHY");

      // Act
      const one = renderTargetGroups(buildTargetGroups([snapshot({ instances: [stale, current] })]).groups);
      const other = renderTargetGroups(buildTargetGroups([snapshot({ instances: [current, stale] })]).groups);

      // Assess
      expect(other).toBe(one);
    });
  });
});
