import { afterEach, describe, expect, it } from "vitest";
import { type AwsClients, createAwsClients, destroyAwsClients } from "../../src/aws/clients.js";

describe("createAwsClients", () => {
  let clients: AwsClients | undefined;

  afterEach(() => {
    if (clients) destroyAwsClients(clients);
    clients = undefined;
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
});
