import { ECSClient } from "@aws-sdk/client-ecs";
import { ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery";
import { SSMClient } from "@aws-sdk/client-ssm";

export interface AwsClients {
  readonly serviceDiscovery: ServiceDiscoveryClient;
  readonly ssm: SSMClient;
  readonly ecs: ECSClient;
}

export interface ClientOptions {
  /** AWS_CALL_TIMEOUT: the bound on one whole call, retries included (enforced by awsCall). */
  readonly callTimeoutMs: number;
  readonly retryMode: string;
  /** Set when AWS_ENDPOINT_URL points somewhere else than AWS (an emulator, a proxy). */
  readonly endpointOverridden: boolean;
  /** Passed to every client when set; otherwise the SDK's default chain decides. */
  readonly region?: string;
  /** Called once per HTTP attempt (retries included): that is what consumes the account's quota. */
  readonly onAttempt?: (operation: string, outcome: string) => void;
}

/**
 * The bound on one HTTP attempt: half the call's budget, so that a hung attempt is abandoned and
 * the SDK's retry still has about half the budget to get an answer; never under 1 s, because the
 * AWS control plane can take several hundred ms on a healthy day and a tighter bound would turn
 * slowness into retries (which cost retry quota); never over the call's own budget, which awsCall
 * enforces anyway.
 */
export function attemptTimeoutMs(callTimeoutMs: number): number {
  return Math.min(callTimeoutMs, Math.max(1_000, Math.round(callTimeoutMs / 2)));
}

/**
 * Credentials and endpoints come from the SDK's default chain on purpose: the ECS task role and
 * AWS_ENDPOINT_URL* work with no code of ours. So does the region unless `region` is given.
 */
export function createAwsClients(options: ClientOptions): AwsClients {
  const perAttempt = attemptTimeoutMs(options.callTimeoutMs);
  const common = {
    retryMode: options.retryMode,
    ...(options.region ? { region: options.region } : {}),
    requestHandler: {
      // Bounds the wait for the response headers, however busy the socket is. Without
      // throwOnRequestTimeout, @smithy/node-http-handler 4.x only logs a warning when it passes
      // and the attempt hangs on; with it, the attempt fails with a TimeoutError, which the
      // retry strategy classifies as TRANSIENT and retries.
      requestTimeout: perAttempt,
      throwOnRequestTimeout: true,
      // requestTimeout stops counting once the response headers arrive; a body that stalls
      // after them is caught by this inactivity bound (also a retried TimeoutError).
      socketTimeout: perAttempt,
      // A TCP connect to an AWS endpoint takes milliseconds; 3 s covers a lost SYN's retransmit.
      connectionTimeout: Math.min(perAttempt, 3_000),
    },
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
