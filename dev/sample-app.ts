import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface SampleApp {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface SampleAppOptions {
  readonly name: string;
  readonly host?: string;
  readonly port?: number;
  /** Paths that serve the metrics (an app endpoint and, say, an infrastructure sidecar's). */
  readonly metricsPaths?: readonly string[];
}

/**
 * A small instrumented web app, like the seed article's: it serves real Prometheus metrics with
 * prom-client and counts its own requests, so a scraped target shows live values.
 */
export async function startSampleApp(options: SampleAppOptions): Promise<SampleApp> {
  const registry = new Registry();
  registry.setDefaultLabels({ app: options.name });
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests served.",
    labelNames: ["path"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "request_duration_milliseconds",
    help: "Request latency in milliseconds.",
    buckets: [50, 100, 250, 500],
    registers: [registry],
  });
  new Gauge({ name: "sample_app_up", help: "Always 1 while the sample app runs.", registers: [registry] }).set(1);
  const metricsPaths = new Set(options.metricsPaths ?? ["/metrics"]);

  const server: Server = createServer((request, response) => {
    const started = performance.now();
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    requests.inc({ path: metricsPaths.has(path) ? "metrics" : "other" });
    if (metricsPaths.has(path)) {
      registry.metrics().then((body) => {
        response.writeHead(200, { "content-type": registry.contentType });
        response.end(body);
        duration.observe(performance.now() - started);
      });
      return;
    }
    response.writeHead(200, { "content-type": "text/plain" });
    response.end(`hello from ${options.name}\n`);
    duration.observe(performance.now() - started);
  });
  server.listen(options.port ?? 0, options.host ?? "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
