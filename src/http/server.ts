import { createServer, type Server } from "node:http";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { HealthState } from "../runtime/health.js";

export interface HttpDeps {
  readonly registry: Registry;
  readonly health: HealthState;
  /** The published targets file content, served as-is for http_sd_configs. */
  readonly targets: () => string | undefined;
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
      case "/healthz":
        return deps.health.alive()
          ? send(200, "text/plain; charset=utf-8", "ok\n")
          : send(503, "text/plain; charset=utf-8", "refresh loop stopped or stuck\n");
      case "/ready":
        return deps.health.ready
          ? send(200, "text/plain; charset=utf-8", "ready\n")
          : send(503, "text/plain; charset=utf-8", "no complete discovery yet\n");
      case "/prometheus-targets":
      case "/targets":
        return send(200, "application/json", deps.targets() ?? "[]\n");
      case "/":
        return send(200, "text/plain; charset=utf-8", "cloudmap-sd: /metrics /healthz /ready /prometheus-targets\n");
      default:
        return send(404, "text/plain; charset=utf-8", "not found\n");
    }
  });
}
