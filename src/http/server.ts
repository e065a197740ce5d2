import { createServer, type Server, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { asChunks, type FileContent, packedPieces } from "../core/file-content.js";
import { parseShardQuery, type ShardSpec } from "../core/shard.js";
import { parsePageQuery, renderStatusPage } from "../status/page.js";
import type { Status } from "../status/status.js";

/** What /healthz and /ready read; HealthState implements it. */
export interface HealthView {
  alive(): boolean;
  readonly ready: boolean;
  /** When present, its `reason` is the one-line body of a 503, so a probe's output says why. */
  describe?(): { readonly alive: boolean; readonly ready: boolean; readonly reason?: string };
}

export interface HttpDeps {
  readonly registry: Registry;
  readonly health: HealthView;
  /** The published targets file content, served as-is for http_sd_configs. */
  readonly targets: () => FileContent | undefined;
  /** One shard of the targets (?shard=I&shards=N); undefined before the first published discovery. */
  readonly targetsOfShard?: (shard: ShardSpec) => FileContent | undefined;
  readonly logger: Logger;
  /** The status document (GET /api/v1/status, and the page at GET /): built from kept state, no AWS call. */
  readonly status?: () => Status;
}

/** /metrics, /healthz, /ready and /prometheus-targets. GET and HEAD only. */
export function createHttpServer(deps: HttpDeps): Server {
  return createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    const path = url.pathname;
    const send = (status: number, contentType: string, body: string) => {
      response.writeHead(status, { "content-type": contentType, "cache-control": "no-store" });
      response.end(request.method === "HEAD" ? undefined : body);
    };
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.setHeader("allow", "GET, HEAD");
      return send(405, "text/plain; charset=utf-8", "method not allowed\n");
    }
    switch (path) {
      case "/metrics":
        deps.registry.metrics().then(
          (body) => send(200, deps.registry.contentType, body),
          (error: unknown) => {
            deps.logger.error({ err: String(error) }, "collecting metrics failed");
            send(500, "text/plain; charset=utf-8", "collecting metrics failed\n");
          },
        );
        return;
      case "/healthz": {
        const { alive, reason } = healthOf(deps.health);
        return alive ? send(200, "text/plain; charset=utf-8", "ok\n") : send(503, "text/plain; charset=utf-8", oneLine(reason ?? "refresh loop stopped or stuck"));
      }
      case "/ready": {
        const { ready, reason } = healthOf(deps.health);
        return ready ? send(200, "text/plain; charset=utf-8", "ready\n") : send(503, "text/plain; charset=utf-8", oneLine(reason ?? "no complete discovery yet"));
      }
      case "/prometheus-targets":
      case "/targets": {
        // ?shard=I&shards=N: any shard from this one discovery (shared-discovery mode, docs/sharding.md).
        const shard = parseShardQuery(url.searchParams);
        if (shard && "error" in shard) return send(400, "text/plain; charset=utf-8", oneLine(shard.error));
        const content = shard && deps.targetsOfShard ? deps.targetsOfShard(shard) : deps.targets();
        if (shard && content === undefined) return send(503, "text/plain; charset=utf-8", "no discovery published yet: retry after the first cycle\n");
        return sendContent(response, request.method === "HEAD", content ?? "[]\n");
      }
      case "/api/v1/status":
        if (!deps.status) return send(404, "text/plain; charset=utf-8", "not found\n");
        return sendStatus(deps, send, (status) => ["application/json; charset=utf-8", `${JSON.stringify(status, null, 2)}\n`]);
      case "/":
        if (!deps.status) return send(200, "text/plain; charset=utf-8", "cloudmap-sd: /metrics /healthz /ready /prometheus-targets\n");
        return sendStatus(deps, send, (status) => ["text/html; charset=utf-8", renderStatusPage(status, parsePageQuery(url.searchParams))]);
      default:
        return send(404, "text/plain; charset=utf-8", "not found\n");
    }
  });
}

/** The status page or document; a bug in making it is a 500 for that request, never a crash. */
function sendStatus(
  deps: HttpDeps,
  send: (status: number, contentType: string, body: string) => void,
  render: (status: Status) => [contentType: string, body: string],
): void {
  let rendered: [string, string];
  try {
    rendered = render((deps.status as () => Status)());
  } catch (error) {
    deps.logger.error({ err: String(error) }, "rendering the status failed");
    return send(500, "text/plain; charset=utf-8", "rendering the status failed\n");
  }
  send(200, rendered[0], rendered[1]);
}

/** Bytes sent between two checks of the socket's buffer: bounds what one response queues. */
const STREAM_BATCH_BYTES = 64 * 1024;

/**
 * The targets file, streamed in batches (it is ~20 MB at 10,000 instances and never exists as
 * one string or buffer): its compact lines are decoded into a fresh buffer per batch (a response
 * keeps what it was given until the socket takes it), and a slow reader is waited for rather than
 * buffered, so a response holds about one batch. The content is immutable, so a publish meanwhile
 * does not change what this response sends.
 */
function sendContent(response: ServerResponse, head: boolean, content: FileContent): void {
  const chunks = asChunks(content);
  response.writeHead(200, { "content-type": "application/json", "cache-control": "no-store", "content-length": chunks.byteLength });
  if (head) {
    response.end();
    return;
  }
  void (async () => {
    try {
      for (const batch of packedPieces(chunks, STREAM_BATCH_BYTES, false)) {
        if (response.destroyed) return;
        if (!response.write(batch)) await drained(response);
      }
      response.end();
    } catch (error) {
      // Nothing here should throw; if it did, this one response fails, not the process.
      response.destroy(error as Error);
    }
  })();
}

/** Resolves on 'drain', or on 'close' when the client went away (then the loop above stops). */
function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off("drain", done);
      response.off("close", done);
      resolve();
    };
    response.on("drain", done);
    response.on("close", done);
  });
}

function healthOf(health: HealthView): { alive: boolean; ready: boolean; reason?: string | undefined } {
  return health.describe ? health.describe() : { alive: health.alive(), ready: health.ready };
}

/** The body of a 503 is one newline-terminated line, whatever describe() returned: curl and probe logs show it whole. */
function oneLine(text: string): string {
  return `${text.replace(/\s*\n\s*/g, " ").trim()}\n`;
}
