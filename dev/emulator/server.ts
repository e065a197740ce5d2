import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { cloudMapOperations } from "./cloudmap/handlers.js";
import { CallCounter } from "./control/calls.js";
import { CONTROL_PREFIX, handleControl } from "./control/http.js";
import { type FaultDecision, Faults } from "./control/faults.js";
import { ecsOperations } from "./ecs/handlers.js";
import { EmulatorState } from "./model/state.js";
import { type Topology, type TopologyInput, loadTopologyFile, parseTopology } from "./model/topology.js";
import { AwsServiceError } from "./protocol/errors.js";
import type { Handler, HandlerContext, OperationTable } from "./protocol/handler.js";
import { InputReader, isPlainObject } from "./protocol/input.js";
import { type AwsService, messageKey, parseTarget } from "./protocol/targets.js";
import { ssmOperations } from "./ssm/handlers.js";
import { handleSts, queryAction, stsError } from "./sts/handlers.js";

/** pino-compatible subset; pass a pino child logger or nothing. */
export interface EmulatorLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface EmulatorOptions {
  /** A topology object (validated here), or the path of a JSON/YAML topology file. Default: empty. */
  readonly topology?: Topology | TopologyInput | string | undefined;
  /** 0 (the default) picks a free ephemeral port. */
  readonly port?: number | undefined;
  readonly host?: string | undefined;
  /** Caps every list page (ListNamespaces/ListServices/ListInstances); default: the AWS defaults. */
  readonly pageSize?: number | undefined;
  /** Seed for errorRate faults. */
  readonly seed?: number | undefined;
  /** Baseline latency for every operation (same as `faults.setAll({ latencyMs })`). */
  readonly latencyMs?: number | undefined;
  readonly logger?: EmulatorLogger | undefined;
}

export interface Emulator {
  /** e.g. "http://127.0.0.1:54321"; use as `endpoint` / AWS_ENDPOINT_URL for all three clients. */
  readonly url: string;
  readonly port: number;
  readonly state: EmulatorState;
  readonly faults: Faults;
  readonly calls: CallCounter;
  close(): Promise<void>;
}

const OPERATIONS: ReadonlyMap<AwsService, OperationTable> = new Map([
  ["servicediscovery", cloudMapOperations],
  ["ssm", ssmOperations],
  ["ecs", ecsOperations],
]);

// Each service answers a malformed request with its own validation error class.
const VALIDATION_ERROR: Readonly<Record<AwsService, string>> = {
  servicediscovery: "InvalidInput",
  ssm: "ValidationException",
  ecs: "InvalidParameterException",
};

const MAX_BODY_BYTES = 4 * 1024 * 1024;

const silentLogger: EmulatorLogger = { debug() {}, info() {}, warn() {} };

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const topology =
    typeof options.topology === "string" ? await loadTopologyFile(options.topology) : parseTopology(options.topology ?? {});
  const state = new EmulatorState(topology);
  const faults = new Faults(options.seed ?? 1);
  if (options.latencyMs !== undefined) faults.setAll({ latencyMs: options.latencyMs });
  const calls = new CallCounter();
  const logger = options.logger ?? silentLogger;
  const closing = new AbortController();
  // Every call waiting out its latency listens for the close: many at once is normal, not a leak.
  setMaxListeners(0, closing.signal);
  const ctx = { state, pageSize: options.pageSize };

  const server = createServer((req, res) => {
    handle(req, res, { ctx, faults, calls, logger, signal: closing.signal }).catch((error: unknown) => {
      logger.warn({ err: error }, "emulator request failed");
      if (!res.headersSent) send(res, 500, { __type: "InternalFailure", Message: "emulator error" });
    });
  });
  const port = await listen(server, options.port ?? 0, options.host ?? "127.0.0.1");
  const host = options.host ?? "127.0.0.1";
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  logger.info({ url }, "AWS emulator listening");

  return {
    url,
    port,
    state,
    faults,
    calls,
    close: () => {
      closing.abort();
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // The SDK keeps connections alive; without this, close() waits for them to time out.
        server.closeAllConnections();
      });
    },
  };
}

interface RequestScope {
  readonly ctx: Omit<HandlerContext, "caller">;
  readonly faults: Faults;
  readonly calls: CallCounter;
  readonly logger: EmulatorLogger;
  readonly signal: AbortSignal;
}

async function handle(req: IncomingMessage, res: ServerResponse, scope: RequestScope): Promise<void> {
  const started = performance.now();
  const body = await readBody(req);
  if (req.url?.startsWith(CONTROL_PREFIX)) return handleControl(req, res, body, scope);

  const caller = scope.ctx.state.callerOf(accessKeyOf(header(req, "authorization")));
  const query = header(req, "x-amz-target") === undefined ? queryAction(header(req, "content-type"), body) : undefined;
  if (query !== undefined) return handleQuery(req, res, query, caller, scope, started);

  const target = parseTarget(header(req, "x-amz-target"));
  const service = target?.service;
  const respondError = (error: AwsServiceError) =>
    send(res, error.status, { __type: error.code, [messageKey(service)]: error.message });

  // Real endpoints reject unsigned requests before looking at the operation; the signature
  // itself is not checked.
  if (header(req, "authorization") === undefined) {
    return respondError(new AwsServiceError("MissingAuthenticationTokenException", "Missing Authentication Token"));
  }
  const operation = target?.operation ?? "(none)";
  const handler = service === undefined ? undefined : OPERATIONS.get(service)?.get(operation);
  scope.calls.record(operation);
  if (req.method !== "POST" || service === undefined || handler === undefined) {
    return respondError(new AwsServiceError("UnknownOperationException", `Unknown operation ${header(req, "x-amz-target") ?? ""}`));
  }

  const fault = scope.faults.decide(operation);
  // The answer is worked out when the request arrives and leaves latencyMs after that, so its
  // latency includes the emulator's own processing, as a real endpoint's does. Working it out after
  // the wait instead would add that processing, queued behind every other request that woke at the
  // same time on this one event loop, to each call (~1-2 ms on a 10 ms call in the bench).
  const answer = fault.kind === "hang" || fault.kind === "reset" || fault.kind === "empty" ? undefined : answerOf(handler, service, body, fault, { ...scope.ctx, caller });
  // A delayed or hung request ends early when the client gives up (its socket closes) or the
  // emulator closes, so a long soak does not pile up pending handlers.
  if (fault.kind === "hang") return untilGone(res, scope.signal);
  const wait = fault.latencyMs - (performance.now() - started);
  if (wait > 0 && !(await waited(wait, res, scope.signal))) return; // the client left, or the emulator is closing
  if (fault.kind === "reset") return resetConnection(req);
  if (fault.kind === "empty") return sendBytes(res, 200, Buffer.alloc(0));
  if (answer === undefined) return; // not reached: only hang, reset and empty have no answer
  sendBytes(res, answer.status, fault.kind === "truncated" ? truncate(answer.bytes, fault.keepFraction) : answer.bytes);
  scope.logger.debug({ operation, status: answer.status, fault: fault.kind, ms: Math.round(performance.now() - started) }, "emulator request");
}

interface Answer {
  readonly status: number;
  /** The JSON body, serialised on arrival too: only the write is left for after the wait. */
  readonly bytes: Buffer;
}

/** The operation's answer, or the error it (or an injected error fault) answers with. */
function answerOf(handler: Handler, service: AwsService, body: string, fault: FaultDecision, ctx: HandlerContext): Answer {
  try {
    if (fault.error !== undefined) throw fault.error;
    return { status: 200, bytes: jsonBytes(handler(new InputReader(parseJson(body), VALIDATION_ERROR[service]), ctx)) };
  } catch (error) {
    if (!(error instanceof AwsServiceError)) throw error;
    return { status: error.status, bytes: jsonBytes({ __type: error.code, [messageKey(service)]: error.message }) };
  }
}

/**
 * STS (AWS Query protocol: form body, XML answer) on the same port. Faults apply by Action, as
 * latency, hang or an error answer; the other kinds are JSON-shaped and not offered here.
 */
async function handleQuery(req: IncomingMessage, res: ServerResponse, params: URLSearchParams, caller: string, scope: RequestScope, started: number): Promise<void> {
  const action = params.get("Action") ?? "(none)";
  scope.calls.record(action);
  const sendXml = ({ status, body }: { status: number; body: string }) => {
    if (res.destroyed) return;
    res.writeHead(status, { "content-type": "text/xml", "content-length": Buffer.byteLength(body), "x-amzn-requestid": randomUUID() });
    res.end(body);
  };
  if (header(req, "authorization") === undefined) {
    return sendXml(stsError(new AwsServiceError("MissingAuthenticationToken", "Request is missing Authentication Token", 403)));
  }
  const fault = scope.faults.decide(action);
  // As for the JSON protocols: worked out on arrival, sent latencyMs after it.
  const answer = fault.kind === "hang" ? undefined : fault.error !== undefined ? stsError(fault.error) : handleSts(params, scope.ctx.state, caller);
  if (answer === undefined) return untilGone(res, scope.signal);
  const wait = fault.latencyMs - (performance.now() - started);
  if (wait > 0 && !(await waited(wait, res, scope.signal))) return;
  sendXml(answer);
}

/** The access key id of a SigV4 Authorization header (`Credential=AKID/date/region/service/aws4_request`). */
function accessKeyOf(authorization: string | undefined): string | undefined {
  return authorization === undefined ? undefined : /Credential=([^/,\s]+)\//.exec(authorization)?.[1];
}

/**
 * Waits `ms`; false if the client's connection goes away or the emulator closes first. Plain
 * listeners and one timer: an AbortSignal.any per request, aborted with a DOMException (a stack
 * trace) when every response closed, was a quarter of the emulator's CPU in the bench.
 */
function waited(ms: number, res: ServerResponse, closing: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (closing.aborted || res.destroyed) return resolve(false);
    const end = (answered: boolean) => {
      clearTimeout(timer);
      res.off("close", gone);
      closing.removeEventListener("abort", gone);
      resolve(answered);
    };
    const gone = () => end(false);
    const timer = setTimeout(() => end(true), ms);
    res.once("close", gone);
    closing.addEventListener("abort", gone, { once: true });
  });
}

/** A hung request: held until the client gives up (its socket closes) or the emulator closes. */
async function untilGone(res: ServerResponse, closing: AbortSignal): Promise<void> {
  while (await waited(2 ** 31 - 1, res, closing));
}

/** A TCP RST where the runtime offers it (the client sees ECONNRESET); a plain destroy otherwise. */
function resetConnection(req: IncomingMessage): void {
  const socket = req.socket as Socket & { resetAndDestroy?: () => void };
  if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
  else socket.destroy();
}

/** At least one byte and never the whole body: a strict prefix of a JSON object is never valid JSON. */
function truncate(bytes: Buffer, keepFraction: number): Buffer {
  if (bytes.length <= 1) return Buffer.alloc(0);
  return bytes.subarray(0, 1 + Math.floor(keepFraction * (bytes.length - 1)));
}

function parseJson(body: string): Record<string, unknown> {
  if (body.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new AwsServiceError("SerializationException", "Request body is not valid JSON");
  }
  if (!isPlainObject(value)) throw new AwsServiceError("SerializationException", "Request body must be a JSON object");
  return value;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) req.destroy(new Error("request body too large"));
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function jsonBytes(payload: object): Buffer {
  return Buffer.from(JSON.stringify(payload), "utf8");
}

function send(res: ServerResponse, status: number, payload: object): void {
  sendBytes(res, status, jsonBytes(payload));
}

function sendBytes(res: ServerResponse, status: number, bytes: Buffer): void {
  if (res.destroyed) return;
  res.writeHead(status, {
    "content-type": "application/x-amz-json-1.1",
    "content-length": bytes.length,
    "x-amzn-requestid": randomUUID(),
  });
  res.end(bytes);
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
