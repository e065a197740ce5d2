import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DiscoverInstancesCommand } from "@aws-sdk/client-servicediscovery";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type AwsClients, createAwsClients, destroyAwsClients } from "../../src/aws/clients.js";
import { REGION, TEST_CREDENTIALS } from "../helpers/aws-fixtures.js";

/** A loopback endpoint answering Cloud Map's JSON protocol with `responses` in turn (the last one repeats). */
async function fakeEndpoint(responses: Array<{ status: number; body: object }>): Promise<{ server: Server; url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(`${request.headers.host} ${request.headers["x-amz-target"]}`);
    const next = responses[Math.min(requests.length - 1, responses.length - 1)] ?? { status: 500, body: {} };
    request.resume().on("end", () => {
      response.writeHead(next.status, { "content-type": "application/x-amz-json-1.1" });
      response.end(JSON.stringify(next.body));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

describe("createAwsClients", () => {
  let clients: AwsClients | undefined;

  let server: Server | undefined;

  afterEach(async () => {
    if (clients) destroyAwsClients(clients);
    clients = undefined;
    vi.unstubAllEnvs();
    if (server) await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

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

  it("reaches an overridden endpoint with DiscoverInstances and counts every attempt, retries included", async () => {
    // Prepare: the first attempt gets a 503, which the SDK retries.
    const endpoint = await fakeEndpoint([
      { status: 503, body: { __type: "ServiceUnavailable", message: "try again" } },
      { status: 200, body: { Instances: [], InstancesRevision: 3 } },
    ]);
    server = endpoint.server;
    vi.stubEnv("AWS_ENDPOINT_URL", endpoint.url);
    vi.stubEnv("AWS_REGION", REGION);
    vi.stubEnv("AWS_ACCESS_KEY_ID", TEST_CREDENTIALS.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", TEST_CREDENTIALS.secretAccessKey);
    const attempts: string[] = [];
    clients = createAwsClients({
      callTimeoutMs: 5_000,
      retryMode: "standard",
      endpointOverridden: true,
      onAttempt: (operation, outcome) => attempts.push(`${operation}:${outcome}`),
    });

    // Act
    const output = await clients.serviceDiscovery.send(new DiscoverInstancesCommand({ NamespaceName: "prod.local", ServiceName: "web" }));

    // Assess
    expect(output.InstancesRevision).toBe(3);
    expect(endpoint.requests).toHaveLength(2);
    expect(endpoint.requests[0]).toBe(`${new URL(endpoint.url).host} Route53AutoNaming_v20170314.DiscoverInstances`);
    expect(attempts).toHaveLength(2);
    expect(attempts[0]).not.toBe("DiscoverInstances:success");
    expect(attempts[1]).toBe("DiscoverInstances:success");
  });
});
