import { DescribeTaskDefinitionCommand, DescribeTasksCommand, ECSClient } from "@aws-sdk/client-ecs";
import {
  DiscoverInstancesCommand,
  DiscoverInstancesRevisionCommand,
  ListServicesCommand,
  ListTagsForResourceCommand,
  NamespaceNotFound,
  ServiceDiscoveryClient,
} from "@aws-sdk/client-servicediscovery";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { STSClient } from "@aws-sdk/client-sts";
import { HttpResponse } from "@smithy/core/transport";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type AwsClients, createAwsClients, destroyAwsClients } from "../../src/aws/clients.js";
import { endpointOf, type MiddlewareStackLike, servesProtocol, useLeanSerde } from "../../src/aws/lean-serde.js";
import { failureKind } from "../../src/errors.js";
import { clientConfig } from "../helpers/aws-fixtures.js";

interface Sent {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Headers that differ between any two sends (time, signature, invocation id) or between the stacks on purpose (User-Agent). */
const VOLATILE = /^(authorization|x-amz-date|amz-sdk-invocation-id|amz-sdk-request|user-agent|x-amz-user-agent)$/;

/** A request handler that records what it is sent and answers `status` with `body`, no network. */
function answering(status: number, body: string, sent: Sent[]) {
  return {
    async handle(request: { method: string; protocol: string; hostname: string; port?: number; path: string; headers: Record<string, string>; body?: unknown }) {
      const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !VOLATILE.test(name.toLowerCase())));
      sent.push({
        method: request.method,
        url: `${request.protocol}//${request.hostname}${request.port ? `:${request.port}` : ""}${request.path}`,
        headers,
        body: typeof request.body === "string" ? request.body : new TextDecoder().decode((request.body as Uint8Array | undefined) ?? new Uint8Array()),
      });
      // A stream, as node-http-handler answers: reading it needs the context's streamCollector.
      const response = new HttpResponse({ statusCode: status, headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "req-1" }, body: Readable.from([Buffer.from(body)]) });
      return { response };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
  };
}

type AnyClient = ServiceDiscoveryClient | SSMClient | ECSClient;
type Make = (handler: ReturnType<typeof answering>) => AnyClient;

const makers: Record<string, Make> = {
  servicediscovery: (requestHandler) => new ServiceDiscoveryClient({ ...clientConfig, requestHandler }),
  ssm: (requestHandler) => new SSMClient({ ...clientConfig, requestHandler }),
  ecs: (requestHandler) => new ECSClient({ ...clientConfig, requestHandler }),
};

function lean(client: AnyClient): AnyClient {
  expect(useLeanSerde(client.middlewareStack as unknown as MiddlewareStackLike, client.config as unknown as Parameters<typeof useLeanSerde>[1])).toBe(true);
  return client;
}

/** What a stock client and a lean one send and return (or throw) for the same command and answer. */
async function both(make: Make, command: () => object, status: number, body: string) {
  const results = [];
  for (const build of [(h: ReturnType<typeof answering>) => make(h), (h: ReturnType<typeof answering>) => lean(make(h))]) {
    const sent: Sent[] = [];
    const client = build(answering(status, body, sent));
    const send = client.send.bind(client) as (command: object) => Promise<unknown>;
    const outcome = await send(command()).then(
      (output) => ({ output }),
      (error: unknown) => ({ error }),
    );
    client.destroy();
    results.push({ sent, ...outcome });
  }
  return { stock: results[0] as (typeof results)[number], lean: results[1] as (typeof results)[number] };
}

const cases: Array<[string, string, () => object, string]> = [
  // DiscoverInstances goes to the "data-" host: the host prefix must survive.
  ["servicediscovery", "DiscoverInstances", () => new DiscoverInstancesCommand({ NamespaceName: "prod.local", ServiceName: "web", HealthStatus: "ALL", MaxResults: 1000 }), '{"Instances":[{"InstanceId":"t1","NamespaceName":"prod.local","ServiceName":"web","HealthStatus":"HEALTHY","Attributes":{"AWS_INSTANCE_IPV4":"10.0.0.1"}}],"InstancesRevision":7}'],
  ["servicediscovery", "DiscoverInstancesRevision", () => new DiscoverInstancesRevisionCommand({ NamespaceName: "prod.local", ServiceName: "web" }), '{"InstancesRevision":7}'],
  ["servicediscovery", "ListServices", () => new ListServicesCommand({ Filters: [{ Name: "NAMESPACE_ID", Values: ["ns-1"], Condition: "EQ" }], NextToken: "t" }), '{"Services":[{"Id":"srv-1","Name":"web","CreateDate":1700000000.5,"HealthCheckCustomConfig":{}}],"NextToken":"u"}'],
  ["servicediscovery", "ListTagsForResource", () => new ListTagsForResourceCommand({ ResourceARN: "arn:aws:servicediscovery:eu-west-1:123456789012:service/srv-1" }), '{"Tags":[{"Key":"METRICS_PATH","Value":"/metrics"}]}'],
  ["ssm", "GetParameter", () => new GetParameterCommand({ Name: "/cloudmap-sd/namespaces", WithDecryption: true }), '{"Parameter":{"Name":"/cloudmap-sd/namespaces","Value":"prod.local","Version":3,"LastModifiedDate":1700000000}}'],
  ["ecs", "DescribeTasks", () => new DescribeTasksCommand({ cluster: "prod", tasks: ["t1", "t2"], include: ["TAGS"] }), '{"tasks":[{"taskArn":"arn:aws:ecs:eu-west-1:123456789012:task/prod/t1","createdAt":1700000000.25,"tags":[{"key":"team","value":"a"}],"containers":[{"name":"app","networkBindings":[{"containerPort":8080,"hostPort":32768}]}]}],"failures":[{"arn":"arn:aws:ecs:eu-west-1:123456789012:task/prod/t2","reason":"MISSING"}]}'],
  ["ecs", "DescribeTaskDefinition", () => new DescribeTaskDefinitionCommand({ taskDefinition: "web:3" }), '{"taskDefinition":{"taskDefinitionArn":"arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3","family":"web","revision":3,"containerDefinitions":[{"name":"app","dockerLabels":{"METRICS_PORT":"8080"}}]}}'],
];

describe("useLeanSerde", () => {
  it.each(cases)("%s %s: sends the very request the SDK's own middleware sends, and reads the same output", async (service, _operation, command, body) => {
    const { stock, lean } = await both(makers[service] as Make, command, 200, body);

    expect("output" in stock).toBe(true);
    expect(lean.sent).toEqual(stock.sent);
    expect(lean.sent[0]?.url).toMatch(/^https:\/\/[a-z0-9.-]+\.amazonaws\.com\/$/);
    expect((lean as { output?: unknown }).output).toEqual((stock as { output?: unknown }).output);
  });

  it("keeps the data- host of DiscoverInstances (the protocol's host prefix)", async () => {
    const { lean } = await both(makers.servicediscovery as Make, cases[0]?.[2] as () => object, 200, '{"Instances":[],"InstancesRevision":1}');

    expect(lean.sent[0]?.url).toBe("https://data-servicediscovery.eu-west-1.amazonaws.com/");
  });

  it.each([
    ["cut short", '{"Instances":[{"InstanceId":"t1","Attri'],
    ["not JSON", "<html>502 Bad Gateway</html>"],
  ])("fails a 200 answer that is %s as the SDK does: a malformed call, with the raw response kept", async (_case, body) => {
    const { stock, lean } = await both(makers.servicediscovery as Make, cases[0]?.[2] as () => object, 200, body);

    const [stockError, leanError] = [stock, lean].map((result) => (result as { error?: Error & { $metadata?: unknown; $response?: unknown } }).error);
    expect(leanError?.name).toBe(stockError?.name);
    expect(leanError?.message).toBe(stockError?.message);
    expect(leanError?.message).toContain("Deserialization error");
    expect(leanError?.$metadata).toEqual(stockError?.$metadata);
    expect(leanError?.$metadata).toMatchObject({ httpStatusCode: 200, requestId: "req-1" });
    expect(leanError?.$response).toBeInstanceOf(HttpResponse);
    expect(failureKind(leanError)).toBe("malformed");
  });

  it("reads an empty 200 answer as the SDK does: no fields at all, which the API layer then refuses as malformed", async () => {
    const { stock, lean } = await both(makers.servicediscovery as Make, cases[0]?.[2] as () => object, 200, "");

    const [stockOutput, leanOutput] = [stock, lean].map((result) => (result as { output?: Record<string, unknown> }).output);
    expect(leanOutput).toEqual(stockOutput);
    expect(leanOutput?.Instances).toBeUndefined();
    expect(leanOutput?.InstancesRevision).toBeUndefined();
  });

  it("fails an AWS error answer with the SDK's own exception class and message", async () => {
    const { stock, lean } = await both(makers.servicediscovery as Make, cases[0]?.[2] as () => object, 400, '{"__type":"NamespaceNotFound","Message":"no namespace prod.local"}');

    const leanError = (lean as { error?: Error & { $metadata?: unknown } }).error;
    expect(leanError).toBeInstanceOf(NamespaceNotFound);
    expect(leanError?.message).toBe((stock as { error?: Error }).error?.message);
    expect(leanError?.$metadata).toEqual((stock as { error?: Error & { $metadata?: unknown } }).error?.$metadata);
  });

  it.each([
    ["an answer", 200, '{"Instances":[],"InstancesRevision":1}'],
    ["a malformed answer", 200, '{"Instances":['],
    ["an error answer", 400, '{"__type":"NamespaceNotFound","Message":"no"}'],
  ])("hands the protocol every client setting it reads, for %s (a guard against SDK updates)", async (_case, status, body) => {
    // Every property the protocol reads from the context it is handed, that the lean context lacks
    // but the client config has (what the SDK's own middleware would have copied in): none.
    const missing = new Set<string>();
    const client = lean(makers.servicediscovery?.(answering(status, body, [])) as AnyClient);
    const protocol = client.config.protocol as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const watched = (context: Record<string | symbol, unknown>) =>
      new Proxy(context, {
        get(target, key, receiver) {
          if (typeof key === "string" && !(key in target) && key in client.config) missing.add(key);
          return Reflect.get(target, key, receiver);
        },
      });
    const serialize = protocol.serializeRequest?.bind(protocol);
    const deserialize = protocol.deserializeResponse?.bind(protocol);
    protocol.serializeRequest = (operation, input, context) => serialize?.(operation, input, watched(context as Record<string, unknown>)) as Promise<unknown>;
    protocol.deserializeResponse = (operation, context, response) => deserialize?.(operation, watched(context as Record<string, unknown>), response) as Promise<unknown>;

    await (client.send as (command: object) => Promise<unknown>)((cases[0]?.[2] as () => object)()).catch(() => undefined);
    client.destroy();

    expect([...missing]).toEqual([]);
  });

  it("leaves a client of another protocol (STS's query protocol) as it is", () => {
    const sts = new STSClient(clientConfig);
    const before = sts.middlewareStack.identify();
    const stack = { identify: () => sts.middlewareStack.identify(), remove: vi.fn(() => true), add: vi.fn() };

    expect(servesProtocol(sts.config.protocol)).toBe(false);
    expect(useLeanSerde(stack, sts.config as unknown as Parameters<typeof useLeanSerde>[1])).toBe(false);
    expect(stack.remove).not.toHaveBeenCalled();
    expect(sts.middlewareStack.identify()).toEqual(before);
  });

  it("leaves a stack whose serde middlewares are not where it expects them as the SDK built it", () => {
    const client = new ServiceDiscoveryClient(clientConfig);
    client.middlewareStack.remove("deserializerMiddleware");
    const before = client.middlewareStack.identify();

    expect(useLeanSerde(client.middlewareStack as unknown as MiddlewareStackLike, client.config as unknown as Parameters<typeof useLeanSerde>[1])).toBe(false);
    expect(client.middlewareStack.identify()).toEqual(before);
    expect(before).toContain("serializerMiddleware - serialize");
  });
});

describe("endpointOf", () => {
  const config = { protocol: { serializeRequest: async () => ({}), deserializeResponse: async () => ({}) }, streamCollector: () => undefined };
  const endpointFor = async (endpointV2: object) => ((await (endpointOf({ endpointV2 }, config) as () => Promise<unknown>)()) as Record<string, unknown>);

  it("converts a resolved endpoint once and shares the frozen result", async () => {
    const resolved = { url: new URL("https://servicediscovery.eu-west-1.amazonaws.com/") };
    const first = await endpointFor(resolved);

    expect(first).toMatchObject({ protocol: "https:", hostname: "servicediscovery.eu-west-1.amazonaws.com", path: "/" });
    expect(await endpointFor(resolved)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it("converts an endpoint with headers at every call: the SDK may add headers to its cached object", async () => {
    const resolved: { url: URL; headers: Record<string, string[]> } = { url: new URL("http://localhost:4566/"), headers: { "x-a": ["1"] } };
    expect((await endpointFor(resolved)).headers).toEqual({ "x-a": "1" });

    resolved.headers["x-b"] = ["2"];

    expect((await endpointFor(resolved)).headers).toEqual({ "x-a": "1", "x-b": "2" });
  });
});

describe("createAwsClients uses the lean serde middlewares", () => {
  let clients: AwsClients | undefined;

  afterEach(() => {
    if (clients) destroyAwsClients(clients);
    clients = undefined;
  });

  it("finds the SDK's serde middlewares of every JSON-RPC client it makes (an SDK update that moves them fails here)", () => {
    for (const make of Object.values(makers)) {
      const client = make(answering(200, "{}", []));
      expect(useLeanSerde(client.middlewareStack as unknown as MiddlewareStackLike, client.config as unknown as Parameters<typeof useLeanSerde>[1])).toBe(true);
      client.destroy();
    }
  });

  it("hands the Cloud Map, SSM and ECS protocols a context without a copy of the client config", async () => {
    clients = createAwsClients({ callTimeoutMs: 5_000, retryMode: "standard", endpointOverridden: false, region: "eu-west-1" });
    for (const [client, command, body] of [
      [clients.serviceDiscovery, cases[1]?.[2], '{"InstancesRevision":7}'],
      [clients.ssm, cases[4]?.[2], '{"Parameter":{"Name":"n","Value":"v"}}'],
      [clients.ecs, cases[6]?.[2], '{"taskDefinition":{"family":"web"}}'],
    ] as Array<[AnyClient, () => object, string]>) {
      const sent: Sent[] = [];
      const handler = client.config.requestHandler as unknown as { handle: unknown };
      handler.handle = answering(200, body, sent).handle;
      Object.assign(client.config, { credentials: async () => clientConfig.credentials });
      const protocol = client.config.protocol as unknown as { serializeRequest: (...args: unknown[]) => unknown; deserializeResponse: (...args: unknown[]) => unknown };
      const serialize = vi.spyOn(protocol, "serializeRequest");
      const deserialize = vi.spyOn(protocol, "deserializeResponse");

      await (client.send as (command: object) => Promise<unknown>)(command());

      const serdeContexts = [serialize.mock.calls[0]?.[2], deserialize.mock.calls[0]?.[1]] as Array<Record<string, unknown>>;
      for (const context of serdeContexts) {
        expect(typeof context.streamCollector).toBe("function");
        expect(context).not.toHaveProperty("retryStrategy");
        expect(context).not.toHaveProperty("credentials");
      }
      expect(sent).toHaveLength(1);
    }
  });
});
