import { createServer, type Server, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { asChunks, type FileContent } from "../core/file-content.js";

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
  readonly logger: Logger;
}

/** /metrics, /healthz, /ready and /prometheus-targets. GET and HEAD only. */
export function createHttpServer(deps: HttpDeps): Server {
  return createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
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
      case "/targets":
        return sendContent(response, request.method === "HEAD", deps.targets() ?? "[]\n");
      case "/":
        return send(200, "text/plain; charset=utf-8", "cloudmap-sd: /metrics /healthz /ready /prometheus-targets\n");
      default:
        return send(404, "text/plain; charset=utf-8", "not found\n");
    }
  });
}

/** Bytes sent between two checks of the socket's buffer: bounds what one response queues. */
const STREAM_BATCH_BYTES = 256 * 1024;

/**
 * The targets file, streamed chunk by chunk (it is ~20 MB at 10,000 instances and never exists as
 * one string or buffer): batches are corked into few writes, and a slow reader is waited for
 * rather than buffered. The content is immutable, so a publish meanwhile does not change what
 * this response sends.
 */
function sendContent(response: ServerResponse, head: boolean, content: FileContent): void {
  const { chunks, byteLength } = asChunks(content);
  response.writeHead(200, { "content-type": "application/json", "cache-control": "no-store", "content-length": byteLength });
  if (head) {
    response.end();
    return;
  }
  void (async () => {
    let batch = 0;
    response.cork();
    for (const chunk of chunks) {
      if (response.destroyed) return;
      const flowing = response.write(chunk);
      batch += chunk.length;
      if (batch < STREAM_BATCH_BYTES) continue;
      batch = 0;
      response.uncork();
      if (!flowing) await drained(response);
      response.cork();
    }
    response.uncork();
    response.end();
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
