// Shared by the emulator tests: a small estate and the real SDK clients pointed at the emulator.
import { ECSClient } from "@aws-sdk/client-ecs";
import { ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery";
import { SSMClient } from "@aws-sdk/client-ssm";
import type { Emulator, TopologyInput } from "../../dev/emulator/index.js";

export const REGION = "us-east-1";
const credentials = { accessKeyId: "test", secretAccessKey: "test" };

// maxAttempts 1 by default: an error test must see the emulator's answer, not the SDK's retries.
export function cloudMapClient(emu: Emulator, maxAttempts = 1): ServiceDiscoveryClient {
  return new ServiceDiscoveryClient({ endpoint: emu.url, region: REGION, credentials, disableHostPrefix: true, maxAttempts });
}

export function ssmClient(emu: Emulator, maxAttempts = 1): SSMClient {
  return new SSMClient({ endpoint: emu.url, region: REGION, credentials, maxAttempts });
}

export function ecsClient(emu: Emulator, maxAttempts = 1): ECSClient {
  return new ECSClient({ endpoint: emu.url, region: REGION, credentials, maxAttempts });
}

/** Resolves to what the promise rejected with; fails the test if it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

export function attrs(ip: string, extra: Record<string, string> = {}): Record<string, string> {
  return { AWS_INSTANCE_IPV4: ip, AWS_INSTANCE_PORT: "8080", ...extra };
}

/** Four namespaces (two share the "alpha" prefix) and services covering each health situation. */
export function smallTopology(): TopologyInput {
  return {
    namespaces: [
      {
        name: "alpha",
        type: "DNS_PRIVATE",
        tags: { owner: "platform" },
        services: [
          {
            name: "web",
            tags: { METRICS_PATH: "/metrics", METRICS_PORT: "9100" },
            instances: [
              { id: "web-1", attributes: attrs("10.0.0.1", { version: "v1", az: "a" }) },
              { id: "web-2", attributes: attrs("10.0.0.2", { version: "v1", az: "b" }) },
              { id: "web-3", attributes: attrs("10.0.0.3", { version: "v2", az: "a" }) },
              { id: "web-4", health: "UNHEALTHY", attributes: attrs("10.0.0.4", { version: "v2", az: "b" }) },
              { id: "web-5", health: "UNHEALTHY", attributes: attrs("10.0.0.5", { version: "v1", az: "a" }) },
            ],
          },
          { name: "empty" },
          {
            name: "down",
            instances: [
              { id: "down-1", health: "UNHEALTHY", attributes: attrs("10.0.1.1") },
              { id: "down-2", health: "UNHEALTHY", attributes: attrs("10.0.1.2") },
            ],
          },
          {
            name: "nohc",
            healthCheck: false,
            instances: [
              { id: "nohc-1", attributes: attrs("10.0.2.1") },
              { id: "nohc-2", health: "UNHEALTHY", attributes: attrs("10.0.2.2") },
            ],
          },
          { name: "churn" },
        ],
      },
      { name: "beta", type: "HTTP", services: [{ name: "pay", instances: [{ id: "pay-1", attributes: { AWS_INSTANCE_IPV4: "10.1.0.1" } }] }] },
      { name: "gamma", type: "DNS_PUBLIC" },
      { name: "alphabet", type: "HTTP", httpName: "alphabet-http" },
    ],
  };
}
