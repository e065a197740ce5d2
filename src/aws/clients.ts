import { ECSClient } from "@aws-sdk/client-ecs";
import { ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery";
import { SSMClient } from "@aws-sdk/client-ssm";
import { STSClient } from "@aws-sdk/client-sts";
import { type MiddlewareStackLike, useLeanSerde } from "./lean-serde.js";
import { KeyCachingSha256 } from "./sha256.js";

export interface AwsClients {
  readonly serviceDiscovery: ServiceDiscoveryClient;
  readonly ssm: SSMClient;
  readonly ecs: ECSClient;
  /** GetCallerIdentity (shared namespaces) and AssumeRole (cross-account ECS). Sends nothing unless used. */
  readonly sts: STSClient;
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
  /** What the User-Agent names first, e.g. "cloudmap-sd/1.4.0"; "cloudmap-sd" when not given. */
  readonly application?: string;
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
 *
 * Tuned for CPU, since a steady cycle at 10,000 instances is ~500 calls (issue 9):
 * - `cacheMiddleware`: the SDK resolves a command class's middleware stack once instead of on
 *   every send (the largest share of a call's CPU). It only works while send() gets no options
 *   object, so callers pass no abortSignal: awsCall bounds the call itself, each attempt is
 *   bounded by the request handler's timeouts below, and destroy() ends what is still in flight.
 *   The cached stack shares one handler context between concurrent calls of a command: what the
 *   SDK keeps there (endpoint, auth scheme, signing identity) is the same for every call of a
 *   client, which is why the SDK offers the option.
 * - one SigV4 signer per client instead of one built from the whole config for every attempt, and
 *   HMAC keys turned into KeyObjects once (see KeyCachingSha256).
 * - no SDK logger middleware: the SDK's logger is its no-op default, yet that middleware walks
 *   every input and output (a DiscoverInstances answer of 1,000 instances included) for
 *   sensitive fields to build a log entry nobody reads.
 * - serde middlewares that hand the protocol the context and the two settings it reads, not a
 *   copy of the whole client config per call (see useLeanSerde; JSON-RPC clients only).
 * - one User-Agent per client (see fixedUserAgent), and no recursion-detection middleware: it
 *   only acts inside AWS Lambda (it forwards _X_AMZN_TRACE_ID as X-Amzn-Trace-Id), where
 *   cloudmap-sd never runs, yet reads the environment on every request.
 */
export function createAwsClients(options: ClientOptions): AwsClients {
  const common = commonConfig(options);
  const clients: AwsClients = {
    serviceDiscovery: new ServiceDiscoveryClient({
      ...common,
      // DiscoverInstances is sent to a "data-" prefixed host (data-servicediscovery.<region>.amazonaws.com);
      // against a custom endpoint that prefix would produce an unresolvable host name.
      disableHostPrefix: options.endpointOverridden,
    }),
    ssm: new SSMClient(common),
    ecs: new ECSClient(common),
    sts: new STSClient(common),
  };
  for (const client of Object.values(clients)) tune(client, options);
  return clients;
}

/**
 * An ECS client of another account: the same tuning as the others, with the credentials of a role
 * assumed in that account. The SDK caches them and asks again shortly before they expire.
 */
export function createAccountEcsClient(options: ClientOptions, credentials: CredentialProvider): ECSClient {
  const client = new ECSClient({ ...commonConfig(options), credentials });
  tune(client, options);
  return client;
}

function commonConfig(options: ClientOptions) {
  const perAttempt = attemptTimeoutMs(options.callTimeoutMs);
  return {
    retryMode: options.retryMode,
    cacheMiddleware: true,
    sha256: KeyCachingSha256,
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
}

function tune(client: AnyClient, options: ClientOptions): void {
  client.middlewareStack.remove("loggerMiddleware");
  client.middlewareStack.remove("recursionDetectionMiddleware");
  fixedUserAgent(client, options.application ?? "cloudmap-sd");
  reuseSigner(client);
  useLeanSerde(client.middlewareStack as unknown as MiddlewareStackLike, client.config as unknown as Parameters<typeof useLeanSerde>[1]);
  refuseRequestsAfterDestroy(client);
  if (options.onAttempt) countAttempts(client, options.onAttempt);
}

type AnyClient = ServiceDiscoveryClient | SSMClient | ECSClient | STSClient;
/** What a client's `credentials` setting takes (typed through the client: no extra package). */
export type CredentialProvider = Exclude<NonNullable<ConstructorParameters<typeof ECSClient>[0]>["credentials"], undefined>;
type Signer = Awaited<ReturnType<ServiceDiscoveryClient["config"]["signer"]>>;
type AuthScheme = Parameters<ServiceDiscoveryClient["config"]["signer"]>[0];

/**
 * The SDK's default `config.signer` builds a new SignatureV4 from a copy of the whole client
 * config for every attempt. The signer it builds depends only on the auth scheme (signing name
 * and region) and holds the client's credential provider, not credentials, so one per scheme
 * signs every request and still sees refreshed credentials. A failure is not kept: the next
 * attempt asks again.
 */
function reuseSigner(client: AnyClient): void {
  const config = client.config as ServiceDiscoveryClient["config"];
  const build = config.signer;
  const signers = new Map<string, Signer>();
  config.signer = async (authScheme?: AuthScheme) => {
    const key = `${authScheme?.name}/${authScheme?.signingName}/${authScheme?.signingRegion}`;
    let signer = signers.get(key);
    if (signer === undefined) {
      signer = await build(authScheme);
      signers.set(key, signer);
    }
    return signer;
  };
}

/**
 * The SDK's User-Agent middleware rebuilds the header on every request: it asks for the SDK's
 * description, escapes each part with regular expressions and encodes the features in use. In an
 * interleaved A/B at 10,000 instances, doing that once per client instead (with the
 * recursion-detection middleware gone too) cut CPU per steady cycle by 6-16 %. The header names
 * cloudmap-sd first, so its calls stand out in CloudTrail's userAgent field, then the SDK as it
 * describes itself (name and version, runtime, OS, API) and the app id if one is configured. What
 * it leaves out is the SDK's per-call feature codes ("m/..."). User-Agent is not signed (SigV4
 * leaves it out), so a fixed value changes nothing in what AWS verifies.
 */
function fixedUserAgent(client: AnyClient, application: string): void {
  const config = client.config as ServiceDiscoveryClient["config"];
  let headers: { userAgent: string; sdk: string } | undefined;
  client.middlewareStack.remove("getUserAgentMiddleware");
  (client.middlewareStack as ServiceDiscoveryClient["middlewareStack"]).add(
    (next) => async (args) => {
      if (headers === undefined) {
        const pairs: Array<readonly [string, string?]> = [...(await config.defaultUserAgentProvider())];
        // AWS_SDK_UA_APP_ID (or sdk_ua_app_id in the AWS config file), as the SDK's middleware adds it.
        const appId = await config.userAgentAppId?.();
        if (appId) pairs.push(["app", appId]);
        const userAgent = userAgentHeader(application, pairs);
        // The SDK also sends its own name and version alone, in x-amz-user-agent.
        headers = { userAgent, sdk: userAgent.split(" ").filter((part) => part.startsWith("aws-sdk-")).join(" ") };
      }
      const request = args.request as { headers?: Record<string, string> } | undefined;
      if (request?.headers) {
        request.headers["user-agent"] = headers.userAgent;
        if (headers.sdk) request.headers["x-amz-user-agent"] = headers.sdk;
      }
      return next(args);
    },
    { step: "build", priority: "low", name: "cloudmapSdUserAgent" },
  );
}

/**
 * `application` and the SDK's [name, version] pairs as one header value, in the SDK's own format
 * ("aws-sdk-js/3.1", "os/linux#6.1", "lang/js", "api/servicediscovery#3.1"). Anything but a token character becomes "-", so
 * no value (an odd OS version string, say) can break the header.
 */
export function userAgentHeader(application: string, pairs: ReadonlyArray<readonly [string, string?]>): string {
  const parts = pairs.map(([pairName, version]) => {
    const name = pairName.startsWith("api/") ? pairName.toLowerCase() : pairName; // as the SDK writes it
    return version === undefined ? name : `${name}${name.includes("/") ? "#" : "/"}${version}`;
  });
  return [application, ...parts].map((part) => part.replace(/[^A-Za-z0-9!#$%&'*+.^_`|~/-]/g, "-")).join(" ");
}

/** What an attempt started after destroy() fails with. Not retryable, so the call ends there. */
export class ClientDestroyedError extends Error {
  override readonly name = "ClientDestroyedError";
  constructor() {
    super("the AWS client was destroyed (cloudmap-sd is stopping)");
  }
}

/**
 * destroy() closes the sockets, but a call abandoned by awsCall may still be in the SDK's retry
 * loop: its next attempt would open a new connection on the same agent. After destroy() every
 * attempt fails at once instead, so nothing outlives the stop.
 */
function refuseRequestsAfterDestroy(client: AnyClient): void {
  const handler = (client.config as ServiceDiscoveryClient["config"]).requestHandler;
  const handle = handler.handle.bind(handler);
  const destroy = handler.destroy?.bind(handler);
  let destroyed = false;
  handler.handle = (request, handlerOptions) => (destroyed ? Promise.reject(new ClientDestroyedError()) : handle(request, handlerOptions));
  handler.destroy = () => {
    destroyed = true;
    destroy?.();
  };
}

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
