import { operation } from "@smithy/core/schema";
import { getSmithyContext, toEndpointV1 } from "@smithy/core/transport";

/**
 * The SDK's schema serialization and deserialization middlewares (@smithy/core/schema) each hand
 * the protocol `{ ...config, ...context }`: a fresh copy of the whole client config (44 settings)
 * and the handler context, twice per call, for a protocol that reads two things from it. At
 * ~500 calls per steady cycle that is ~8 MB of garbage and ~5 % of a call's CPU (issue 9).
 *
 * These do the same with a small object: the context plus the settings AWS JSON-RPC protocols
 * (Cloud Map, SSM, ECS) read from it: `endpoint` when serializing (from the resolved endpoint, as
 * the SDK's middleware does) and `streamCollector` when reading the body. Everything else a
 * protocol needs comes from its own serde context, which the SDK gave it the whole config for.
 * The failure path is the SDK's own (the hidden $response, the "Deserialization error" hint that
 * failureKind reads as malformed, $metadata from the headers). Other protocols (STS's query
 * protocol) keep the SDK's middlewares.
 */

interface Protocol {
  getJsonRpcVersion?: () => string;
  serializeRequest(operationSchema: unknown, input: unknown, context: unknown): Promise<unknown>;
  deserializeResponse(operationSchema: unknown, context: unknown, response: unknown): Promise<unknown>;
}

interface LeanSerdeConfig {
  readonly protocol: Protocol;
  readonly endpoint?: unknown;
  readonly streamCollector: unknown;
}

export type Context = Record<string, unknown> & { endpointV2?: object };
type Next = (args: Record<string, unknown>) => Promise<{ response: unknown; output?: unknown }>;
type Middleware = (next: Next, context: Context) => (args: Record<string, unknown>) => Promise<unknown>;

export interface MiddlewareStackLike {
  /** Entries as "name - step" (the SDK's format). */
  identify(): string[];
  remove(name: string): boolean;
  add(middleware: Middleware, options: { name: string; step: string; tags: string[]; override: boolean }): void;
}

/** Whether the client's protocol is one these middlewares serve (AWS JSON 1.0/1.1 RPC). */
export function servesProtocol(protocol: unknown): boolean {
  return typeof (protocol as Protocol | undefined)?.getJsonRpcVersion === "function";
}

/**
 * Replaces the SDK's serde middlewares of a JSON-RPC client by lean ones and returns true; leaves
 * any other client, or one whose stack does not hold them where expected (an SDK update moved
 * them), as the SDK built it and returns false: the SDK's own path only costs more CPU, where a
 * half-replaced stack or a refusal to start would stop discovery. Tests assert true for every
 * JSON-RPC client cloudmap-sd makes, so such an update fails CI instead.
 */
export function useLeanSerde(stack: MiddlewareStackLike, config: LeanSerdeConfig): boolean {
  if (!servesProtocol(config.protocol)) return false;
  const entries = stack.identify();
  const holds = (name: string, step: string) => entries.includes(`${name} - ${step}`);
  if (!holds("serializerMiddleware", "serialize") || !holds("deserializerMiddleware", "deserialize")) return false;
  stack.remove("serializerMiddleware");
  stack.remove("deserializerMiddleware");
  stack.add(leanSerializer(config), { name: "serializerMiddleware", step: "serialize", tags: ["SERIALIZER"], override: true });
  stack.add(leanDeserializer(config), { name: "deserializerMiddleware", step: "deserialize", tags: ["DESERIALIZER"], override: true });
  return true;
}

/** The resolved endpoint in the form the protocol takes, worked out once per resolved endpoint (the SDK caches those). */
const v1Endpoints = new WeakMap<object, unknown>();

export function endpointOf(context: Context, config: LeanSerdeConfig): unknown {
  const resolved = context.endpointV2 as { headers?: unknown } | undefined;
  if (!resolved) return config.endpoint;
  // An endpoint with headers (a custom endpoint configured with some) may gain more on the SDK's
  // shared cached object at any call: convert it every time, as the SDK's middleware does.
  if (resolved.headers !== undefined) {
    const fresh = toEndpointV1(resolved as Parameters<typeof toEndpointV1>[0]);
    return async () => fresh;
  }
  let v1 = v1Endpoints.get(resolved);
  if (v1 === undefined) {
    v1 = toEndpointV1(resolved as Parameters<typeof toEndpointV1>[0]);
    // Frozen when it is our own copy: shared by every call, and the protocol only copies from it
    // (HttpProtocol.updateServiceEndpoint). Never the SDK's own object, which it may still change.
    if (v1 !== resolved) Object.freeze(v1);
    v1Endpoints.set(resolved, v1);
  }
  const endpoint = v1;
  return async () => endpoint;
}

function operationOf(context: Context) {
  const { operationSchema } = getSmithyContext(context as Parameters<typeof getSmithyContext>[0]) as { operationSchema?: unknown[] };
  const [, namespace, name, traits, input, output] = (operationSchema ?? []) as [unknown, string, string, never, never, never];
  return operation(namespace, name, traits, input, output);
}

function leanSerializer(config: LeanSerdeConfig): Middleware {
  return (next, context) => async (args) => {
    const serdeContext = { ...context, endpoint: endpointOf(context, config), streamCollector: config.streamCollector };
    const request = await config.protocol.serializeRequest(operationOf(context), args.input, serdeContext);
    return next({ ...args, request });
  };
}

function leanDeserializer(config: LeanSerdeConfig): Middleware {
  return (next, context) => async (args) => {
    const { response } = await next(args);
    try {
      const serdeContext = { ...context, endpoint: config.endpoint, streamCollector: config.streamCollector };
      const output = await config.protocol.deserializeResponse(operationOf(context), serdeContext, response);
      return { response, output };
    } catch (error) {
      throw decorated(error, response);
    }
  };
}

/** What the SDK's schemaDeserializationMiddleware does to a failure (@smithy/core 3.41, Apache-2.0). */
function decorated(error: unknown, response: unknown): unknown {
  if (typeof error !== "object" || error === null) return error;
  const failure = error as Error & { $metadata?: unknown; $responseBodyText?: unknown; $response?: { body?: unknown } };
  Object.defineProperty(failure, "$response", { value: response, enumerable: false, writable: false, configurable: false });
  if (!("$metadata" in failure)) {
    try {
      failure.message += "\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.";
    } catch {
      // a frozen message: the SDK only warns then
    }
    if (failure.$responseBodyText !== undefined && failure.$response) failure.$response.body = failure.$responseBodyText;
    const { headers, statusCode } = (response ?? {}) as { headers?: Record<string, string>; statusCode?: number };
    if (typeof statusCode === "number") {
      const entries = Object.entries(headers ?? {});
      const header = (pattern: RegExp) => entries.find(([name]) => pattern.test(name))?.[1];
      failure.$metadata = {
        httpStatusCode: statusCode,
        requestId: header(/^x-[\w-]+-request-?id$/),
        extendedRequestId: header(/^x-[\w-]+-id-2$/),
        cfId: header(/^x-[\w-]+-cf-id$/),
      };
    }
  }
  return failure;
}
