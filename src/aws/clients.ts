import { ECSClient } from "@aws-sdk/client-ecs";
import { ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery";
import { SSMClient } from "@aws-sdk/client-ssm";

export interface AwsClients {
  readonly serviceDiscovery: ServiceDiscoveryClient;
  readonly ssm: SSMClient;
  readonly ecs: ECSClient;
}

export interface ClientOptions {
  readonly callTimeoutMs: number;
  readonly retryMode: string;
  /** Set when AWS_ENDPOINT_URL points somewhere else than AWS (an emulator, a proxy). */
  readonly endpointOverridden: boolean;
  /** Called once per HTTP attempt (retries included): that is what consumes the account's quota. */
  readonly onAttempt?: (operation: string, outcome: string) => void;
}

/**
 * Region, credentials and endpoints come from the SDK's default chain on purpose: the ECS task
 * role and AWS_ENDPOINT_URL* work with no code of ours.
 */
export function createAwsClients(options: ClientOptions): AwsClients {
  const common = {
    retryMode: options.retryMode,
    requestHandler: { requestTimeout: options.callTimeoutMs, connectionTimeout: Math.min(options.callTimeoutMs, 3_000) },
  };
  const clients: AwsClients = {
    serviceDiscovery: new ServiceDiscoveryClient({
      ...common,
      // DiscoverInstances is sent to a "data-" prefixed host (data-servicediscovery.<region>.amazonaws.com);
      // against a custom endpoint that prefix would produce an unresolvable host name.
      disableHostPrefix: options.endpointOverridden,
    }),
    ssm: new SSMClient(common),
    ecs: new ECSClient(common),
  };
  if (options.onAttempt) {
    for (const client of Object.values(clients)) countAttempts(client, options.onAttempt);
  }
  return clients;
}

type AnyClient = ServiceDiscoveryClient | SSMClient | ECSClient;

function countAttempts(client: AnyClient, onAttempt: (operation: string, outcome: string) => void): void {
  // The deserialize step runs inside the retry loop (finalizeRequest), so this sees every attempt.
  (client.middlewareStack as ServiceDiscoveryClient["middlewareStack"]).add(
    (next, context) => async (args) => {
      const operation = String(context.commandName ?? "unknown").replace(/Command$/, "");
      try {
        const output = await next(args);
        onAttempt(operation, "success");
        return output;
      } catch (error) {
        onAttempt(operation, error instanceof Error ? error.name : "UnknownError");
        throw error;
      }
    },
    { step: "deserialize", priority: "high", name: "cloudmapSdAttemptCounter" },
  );
}

export function destroyAwsClients(clients: AwsClients): void {
  for (const client of Object.values(clients)) client.destroy();
}
