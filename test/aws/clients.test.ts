import { DescribeTaskDefinitionCommand } from "@aws-sdk/client-ecs";
import { DiscoverInstancesCommand, DiscoverInstancesRevisionCommand } from "@aws-sdk/client-servicediscovery";
import { GetParameterCommand } from "@aws-sdk/client-ssm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { awsCall, type CallRecorder } from "../../src/aws/call.js";
import { attemptTimeoutMs, type AwsClients, createAwsClients, destroyAwsClients, userAgentHeader } from "../../src/aws/clients.js";
import { CloudMapApi } from "../../src/aws/cloudmap.js";
import { EcsApi } from "../../src/aws/ecs.js";
import { readParameter } from "../../src/aws/ssm-parameter.js";
import { AwsCallError, CallTimeoutError, CycleDeadlineError, failureKind } from "../../src/errors.js";
import { callContext, REGION } from "../helpers/aws-fixtures.js";
import { answer, hang, type LoopbackEndpoint, loopbackEndpoint, stallMidBody, trickleHeaders, useLoopbackEndpoint } from "../helpers/loopback.js";

const DISCOVER = "Route53AutoNaming_v20170314.DiscoverInstances";

describe("attemptTimeoutMs", () => {
  it.each([
    [10_000, 5_000],
    [4_000, 2_000],
    [1_500, 1_000],
    [800, 800],
    [100, 100],
  ])("bounds one attempt of a %i ms call by %i ms (half, at least 1 s, at most the call)", (call, attempt) => {
    expect(attemptTimeoutMs(call)).toBe(attempt);
  });
});

describe("createAwsClients", () => {
  let clients: AwsClients | undefined;
  let endpoint: LoopbackEndpoint | undefined;

  afterEach(async () => {
    if (clients) destroyAwsClients(clients);
    clients = undefined;
    vi.unstubAllEnvs();
    await endpoint?.close();
    endpoint = undefined;
  });

  /** Real clients aimed at a loopback endpoint that answers with `responders` in turn. */
  async function againstLoopback(responders: Parameters<typeof loopbackEndpoint>[0], callTimeoutMs: number, attempts: string[] = []) {
    endpoint = await loopbackEndpoint(responders);
    useLoopbackEndpoint(endpoint.url);
    clients = createAwsClients({
      callTimeoutMs,
      retryMode: "standard",
      endpointOverridden: true,
      region: REGION,
      onAttempt: (operation, outcome) => attempts.push(`${operation}:${outcome}`),
    });
    return { endpoint, clients };
  }

  function discover(target: AwsClients, timeoutMs: number, recorder: CallRecorder, parent?: AbortSignal) {
    return awsCall(
      { recorder, timeoutMs },
      "DiscoverInstances",
      { namespace: "prod.local", service: "web" },
      () => target.serviceDiscovery.send(new DiscoverInstancesCommand({ NamespaceName: "prod.local", ServiceName: "web" })),
      parent,
    );
  }

  const nowhere: CallRecorder = { record: () => {} };

  it("keeps the data- host prefix against AWS itself", () => {
    clients = createAwsClients({ callTimeoutMs: 5_000, retryMode: "adaptive", endpointOverridden: false });

    expect(clients.serviceDiscovery.config.disableHostPrefix).toBe(false);
  });

  it("drops the data- host prefix when the endpoint is overridden, so DiscoverInstances reaches it", () => {
    clients = createAwsClients({ callTimeoutMs: 5_000, retryMode: "adaptive", endpointOverridden: true });

    expect(clients.serviceDiscovery.config.disableHostPrefix).toBe(true);
  });

  it.each(["adaptive", "standard"])("passes retry mode %s to every client", async (retryMode) => {
    clients = createAwsClients({ callTimeoutMs: 5_000, retryMode, endpointOverridden: false });

    for (const client of [clients.serviceDiscovery, clients.ssm, clients.ecs]) {
      expect(client.config.retryMode).toBe(retryMode);
      const strategy = (await client.config.retryStrategy()) as { mode?: string };
      expect(strategy.mode).toBe(retryMode);
    }
  });

  it("passes the region to every client when given", async () => {
    vi.stubEnv("AWS_REGION", "us-east-1");
    clients = createAwsClients({ callTimeoutMs: 5_000, retryMode: "standard", endpointOverridden: false, region: "ap-southeast-2" });

    for (const client of [clients.serviceDiscovery, clients.ssm, clients.ecs]) {
      expect(await client.config.region()).toBe("ap-southeast-2");
    }
  });

  it("leaves the region to the SDK's default chain when not given", async () => {
    vi.stubEnv("AWS_REGION", "us-east-1");
    clients = createAwsClients({ callTimeoutMs: 5_000, retryMode: "standard", endpointOverridden: false });

    for (const client of [clients.serviceDiscovery, clients.ssm, clients.ecs]) {
      expect(await client.config.region()).toBe("us-east-1");
    }
  });

  it("reaches an overridden endpoint with DiscoverInstances and counts every attempt, retries included", async () => {
    // Prepare: the first attempt gets a 503, which the SDK retries.
    const attempts: string[] = [];
    const { endpoint, clients } = await againstLoopback(
      [answer({ __type: "ServiceUnavailable", message: "try again" }, 503), answer({ Instances: [], InstancesRevision: 3 })],
      5_000,
      attempts,
    );

    // Act
    const output = await clients.serviceDiscovery.send(new DiscoverInstancesCommand({ NamespaceName: "prod.local", ServiceName: "web" }));

    // Assess
    expect(output.InstancesRevision).toBe(3);
    expect(endpoint.requests.map((request) => request.target)).toEqual([DISCOVER, DISCOVER]);
    expect(attempts).toHaveLength(2);
    expect(attempts[0]).not.toBe("DiscoverInstances:success");
    expect(attempts[1]).toBe("DiscoverInstances:success");
  });

  describe("a hung endpoint (real SDK clients, loopback server)", () => {
    it("ends a call whose every attempt hangs with a timeout within its budget", async () => {
      // Prepare
      const timeoutMs = 1_500;
      const recorded: string[] = [];
      const { endpoint, clients } = await againstLoopback([hang], timeoutMs);

      // Act (the test's own timeout bounds the wait; timings belong in the benchmark)
      const error = await discover(clients, timeoutMs, { record: (op, outcome) => recorded.push(`${op}:${outcome}`) }).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(AwsCallError);
      expect((error as AwsCallError).cause).toBeInstanceOf(CallTimeoutError);
      expect(failureKind(error)).toBe("timeout");
      expect(recorded).toEqual(["DiscoverInstances:CallTimeoutError"]);
      // The first attempt was abandoned at the per-attempt bound and retried within the budget.
      expect(endpoint.requests.length).toBeGreaterThanOrEqual(2);
      await Promise.all(endpoint.requests.map((request) => request.closed));
    });

    it("retries an attempt that hangs and succeeds with the next one, within the call's budget", async () => {
      // Prepare
      const timeoutMs = 4_000;
      const attempts: string[] = [];
      const { endpoint, clients } = await againstLoopback([hang, answer({ Instances: [], InstancesRevision: 9 })], timeoutMs, attempts);

      // Act
      const output = await discover(clients, timeoutMs, nowhere);

      // Assess
      expect(output.InstancesRevision).toBe(9);
      expect(endpoint.requests).toHaveLength(2);
      expect(attempts).toEqual(["DiscoverInstances:TimeoutError", "DiscoverInstances:success"]);
      await endpoint.requests[0]?.closed;
    });

    it("retries an attempt whose headers trickle in forever (the socket never idles)", async () => {
      // Prepare
      const timeoutMs = 4_000;
      const attempts: string[] = [];
      const { endpoint, clients } = await againstLoopback([trickleHeaders, answer({ Instances: [], InstancesRevision: 2 })], timeoutMs, attempts);

      // Act
      const output = await discover(clients, timeoutMs, nowhere);

      // Assess
      expect(output.InstancesRevision).toBe(2);
      expect(endpoint.requests).toHaveLength(2);
      expect(attempts).toEqual(["DiscoverInstances:TimeoutError", "DiscoverInstances:success"]);
    });

    it("retries an attempt whose body stalls after the headers", async () => {
      // Prepare
      const timeoutMs = 4_000;
      const body = { Instances: [{ InstanceId: "task-1", Attributes: { AWS_INSTANCE_IPV4: "10.0.0.1" } }], InstancesRevision: 4 };
      const attempts: string[] = [];
      const { endpoint, clients } = await againstLoopback([stallMidBody(body), answer(body)], timeoutMs, attempts);

      // Act
      const output = await discover(clients, timeoutMs, nowhere);

      // Assess
      expect(output.InstancesRevision).toBe(4);
      expect(endpoint.requests).toHaveLength(2);
      expect(attempts).toEqual(["DiscoverInstances:TimeoutError", "DiscoverInstances:success"]);
    });

    it("ends the call at once when the cycle's signal aborts, with the signal's reason as cause", async () => {
      // Prepare: a budget far longer than the test, so only the parent signal can end the call.
      const timeoutMs = 60_000;
      const recorded: string[] = [];
      const { endpoint, clients } = await againstLoopback([hang], timeoutMs);
      const cycle = new AbortController();
      const reason = new CycleDeadlineError(30_000);
      const call = discover(clients, timeoutMs, { record: (op, outcome) => recorded.push(`${op}:${outcome}`) }, cycle.signal).catch((e: unknown) => e);
      const request = await endpoint.requestArrived(1);

      // Act: the call's own timeout is a minute, so it can only end here through the abort.
      cycle.abort(reason);
      const error = await call;

      // Assess
      expect(error).toBeInstanceOf(AwsCallError);
      expect((error as AwsCallError).cause).toBe(reason);
      expect(failureKind(error)).toBe("deadline");
      expect(recorded).toEqual(["DiscoverInstances:CycleDeadlineError"]);
      expect(endpoint.requests).toHaveLength(1);
      // The SDK got no abort signal (it would defeat the middleware cache): the attempt it still
      // has in flight ends at its own timeout or, as on stop, when the clients are destroyed.
      destroyAwsClients(clients);
      await request.closed;
    });

    it("opens no new connection for an abandoned call once the clients are destroyed, even mid-retry", async () => {
      // Prepare: a call abandoned by its cycle, whose attempt is still in flight.
      const timeoutMs = 60_000;
      const attempts: string[] = [];
      const { endpoint, clients } = await againstLoopback([hang], timeoutMs, attempts);
      const cycle = new AbortController();
      const call = discover(clients, timeoutMs, nowhere, cycle.signal).catch((e: unknown) => e);
      const request = await endpoint.requestArrived(1);
      cycle.abort(new Error("stopping"));
      await call;

      // Act: destroying the sockets fails the attempt; the SDK's retry strategy tries again.
      let check: NodeJS.Timeout | undefined;
      const secondAttempt = new Promise<void>((resolve) => {
        check = setInterval(() => attempts.length >= 2 && resolve(), 10);
      });
      destroyAwsClients(clients);
      await request.closed;
      await Promise.race([secondAttempt, endpoint.requestArrived(2)]).finally(() => clearInterval(check));

      // Assess: the retry failed at once, without reaching the endpoint, and was not retried.
      expect(endpoint.requests).toHaveLength(1);
      expect(attempts).toHaveLength(2);
      expect(attempts[1]).toBe("DiscoverInstances:ClientDestroyedError");
    });
  });

  describe("CPU per call", () => {
    const cases = [
      {
        operation: "DiscoverInstancesRevision",
        body: { InstancesRevision: 5 },
        command: DiscoverInstancesRevisionCommand,
        call: (target: AwsClients) =>
          new CloudMapApi(target.serviceDiscovery, callContext()).revision({
            id: "srv-1",
            arn: "arn:aws:servicediscovery:eu-west-1:123456789012:service/srv-1",
            name: "web",
            namespace: { id: "ns-1", name: "prod.local", type: "HTTP", httpName: "prod.local" },
          }),
      },
      {
        operation: "GetParameter",
        body: { Parameter: { Name: "p", Type: "String", Value: "prod.local" } },
        command: GetParameterCommand,
        call: (target: AwsClients) => readParameter(target.ssm, callContext(), "p"),
      },
      {
        operation: "DescribeTaskDefinition",
        body: { taskDefinition: { taskDefinitionArn: "arn:td/web:1", family: "web", revision: 1, containerDefinitions: [] } },
        command: DescribeTaskDefinitionCommand,
        call: (target: AwsClients) => new EcsApi(target.ecs, callContext()).taskDefinition("arn:td/web:1"),
      },
    ];

    it.each(cases)("resolves the SDK middleware stack of $operation once, however many calls send it", async ({ body, command, call }) => {
      // Prepare
      const resolved = vi.spyOn(command.prototype, "resolveMiddleware");
      const { clients } = await againstLoopback([answer(body)], 5_000);

      // Act
      for (let i = 0; i < 3; i++) await call(clients);

      // Assess
      expect(resolved).toHaveBeenCalledTimes(1);
      resolved.mockRestore();
    });

    it("leaves out the SDK's log middleware, which only feeds its no-op logger", () => {
      clients = createAwsClients({ callTimeoutMs: 5_000, retryMode: "standard", endpointOverridden: false });

      for (const client of [clients.serviceDiscovery, clients.ssm, clients.ecs]) {
        expect(client.config.logger.constructor.name).toBe("NoOpLogger");
        expect(client.middlewareStack.identify().some((entry) => entry.startsWith("loggerMiddleware"))).toBe(false);
      }
    });

    it("sends one User-Agent per client, worked out once: cloudmap-sd first, then the SDK as it describes itself", async () => {
      // Prepare
      const { endpoint, clients } = await againstLoopback([answer({ InstancesRevision: 5 })], 5_000);
      const described = vi.spyOn(clients.serviceDiscovery.config, "defaultUserAgentProvider");

      // Act
      for (let i = 0; i < 3; i++) await cases[0]?.call(clients);

      // Assess
      expect(described).toHaveBeenCalledTimes(1);
      const agents = endpoint.requests.map((request) => request.userAgent);
      expect(new Set(agents)).toEqual(new Set([agents[0]]));
      expect(agents[0]).toMatch(/^cloudmap-sd aws-sdk-js\/3\.\d+\.\d+ .*lang\/js .*md\/nodejs#\d+/);
      expect(agents[0]).toContain("api/servicediscovery#3.");
      expect(endpoint.requests.map((request) => request.sdkUserAgent)).toEqual(agents.map(() => expect.stringMatching(/^aws-sdk-js\/3\.\d+\.\d+$/)));
    });

    it("adds the app id an operator configured (AWS_SDK_UA_APP_ID), as the SDK does", async () => {
      vi.stubEnv("AWS_SDK_UA_APP_ID", "payments-monitoring");
      const { endpoint, clients } = await againstLoopback([answer({ InstancesRevision: 5 })], 5_000);

      await cases[0]?.call(clients);

      expect(endpoint.requests[0]?.userAgent).toMatch(/^cloudmap-sd aws-sdk-js\/.* app\/payments-monitoring$/);
    });

    it("leaves out the SDK's per-request User-Agent and Lambda recursion-detection middleware", () => {
      clients = createAwsClients({ callTimeoutMs: 5_000, retryMode: "standard", endpointOverridden: false, application: "cloudmap-sd/1.2.3" });

      for (const client of Object.values(clients)) {
        const names: string[] = client.middlewareStack.identify();
        expect(names.filter((entry) => /^(getUserAgentMiddleware|recursionDetectionMiddleware) /.test(entry))).toEqual([]);
        expect(names.filter((entry) => entry.startsWith("cloudmapSdUserAgent "))).toHaveLength(1);
      }
    });

    it.each<[string, ReadonlyArray<readonly [string, string?]>, string]>([
      ["the SDK's own format", [["aws-sdk-js", "3.1"], ["ua", "2.1"], ["os/linux", "6.1.0"], ["lang/js"], ["api/ECS", "3.1"]], "app/1.0 aws-sdk-js/3.1 ua/2.1 os/linux#6.1.0 lang/js api/ecs#3.1"],
      ["no character that could break the header", [["os/linux", "6.1 (custom)\r\nX-Evil: 1"]], "app/1.0 os/linux#6.1--custom---X-Evil--1"],
    ])("writes the User-Agent in %s", (_case, pairs, expected) => {
      expect(userAgentHeader("app/1.0", pairs)).toBe(expected);
    });

    it("signs every attempt of a client with one long-lived signer", async () => {
      // Prepare
      const { endpoint, clients } = await againstLoopback([answer({ InstancesRevision: 5 })], 5_000);
      const signer = await clients.serviceDiscovery.config.signer();
      const sign = vi.spyOn(signer, "sign");

      // Act
      await cases[0]?.call(clients);
      await cases[0]?.call(clients);

      // Assess
      expect(await clients.serviceDiscovery.config.signer()).toBe(signer);
      expect(sign).toHaveBeenCalledTimes(2);
      expect(endpoint.requests).toHaveLength(2);
    });
  });
});
