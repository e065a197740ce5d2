import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHttpServer } from "../../src/http/server.js";
import { HealthState } from "../../src/runtime/health.js";
import { memoryLogger } from "../helpers/fixtures.js";

const TARGETS = '[\n{"targets":["10.0.1.5:8080"],"labels":{"__metrics_path__":"/metrics","namespace":"prod.local"}}\n]\n';

let server: Server;
let base: string;
let clock: number;
let health: HealthState;
let registry: Registry;
let targets: string | undefined;
let logged: ReturnType<typeof memoryLogger>;

beforeEach(async () => {
  clock = 0;
  health = new HealthState(1_000, () => clock);
  registry = new Registry();
  targets = TARGETS;
  logged = memoryLogger();
  server = createHttpServer({ registry, health, targets: () => targets, logger: logged.logger });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("createHttpServer", () => {
  describe("/healthz", () => {
    it("answers 200 while the loop is alive", async () => {
      const response = await fetch(`${base}/healthz`);

      expect(response.status).toBe(200);
      expect(await response.text()).toBe("ok\n");
    });

    it("answers 503 when a cycle is stuck", async () => {
      health.cycleStarted();
      clock += 1_000;

      expect((await fetch(`${base}/healthz`)).status).toBe(503);
    });

    it("answers 503 once the loop has stopped", async () => {
      health.loopStopped();

      expect((await fetch(`${base}/healthz`)).status).toBe(503);
    });
  });

  describe("/ready", () => {
    it("answers 503 until the first complete discovery, then 200", async () => {
      // Act
      const before = await fetch(`${base}/ready`);
      health.ready = true;
      const after = await fetch(`${base}/ready`);

      // Assess
      expect(before.status).toBe(503);
      expect(after.status).toBe(200);
    });
  });

  describe("/prometheus-targets", () => {
    it("serves the published targets as-is, as application/json, never cached", async () => {
      const response = await fetch(`${base}/prometheus-targets`);

      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/json");
      expect(response.headers.get("cache-control")).toBe("no-store");
      expect(await response.text()).toBe(TARGETS);
    });

    it("serves the latest content on each request", async () => {
      targets = "[]\n";

      expect(await (await fetch(`${base}/prometheus-targets`)).text()).toBe("[]\n");
    });

    it("serves an empty list before anything was published", async () => {
      targets = undefined;

      const response = await fetch(`${base}/prometheus-targets`);

      expect(response.status).toBe(200);
      expect(await response.json()).toEqual([]);
    });
  });

  describe("/metrics", () => {
    it("serves the registry in the Prometheus text format", async () => {
      // Prepare
      const cycles = new Counter({ name: "cloudmap_sd_test_cycles_total", help: "Test cycles.", labelNames: ["outcome"], registers: [registry] });
      cycles.inc({ outcome: "success" }, 3);

      // Act
      const response = await fetch(`${base}/metrics`);

      // Assess
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe(registry.contentType);
      const body = await response.text();
      expect(body).toContain("# TYPE cloudmap_sd_test_cycles_total counter");
      expect(body).toContain('cloudmap_sd_test_cycles_total{outcome="success"} 3');
    });

    it("answers 500 and logs when collecting fails", async () => {
      // Prepare
      new Counter({
        name: "cloudmap_sd_test_broken_total",
        help: "Fails to collect.",
        registers: [registry],
        collect() {
          throw new Error("collector exploded");
        },
      });

      // Act
      const response = await fetch(`${base}/metrics`);

      // Assess
      expect(response.status).toBe(500);
      expect(logged.lines()).toContainEqual(
        expect.objectContaining({ level: "error", msg: "collecting metrics failed", err: expect.stringContaining("collector exploded") }),
      );
    });
  });

  it("answers 404 for an unknown path", async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it("ignores the query string when routing", async () => {
    expect((await fetch(`${base}/healthz?verbose=1`)).status).toBe(200);
  });

  it.each(["POST", "PUT", "DELETE"])("answers 405 with Allow: GET, HEAD for %s", async (method) => {
    const response = await fetch(`${base}/prometheus-targets`, { method });

    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, HEAD");
  });

  it.each(["/healthz", "/prometheus-targets", "/metrics"])("answers HEAD %s with headers and no body", async (path) => {
    const response = await fetch(`${base}${path}`, { method: "HEAD" });

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBeTruthy();
    expect(await response.text()).toBe("");
  });
});
