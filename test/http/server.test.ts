import { once } from "node:events";
import type { Server, ServerResponse } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { Counter, Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FileContent, textOf } from "../../src/core/file-content.js";
import type { TargetGroup } from "../../src/core/model.js";
import { frameLines, renderCompactLines, renderTargetGroups } from "../../src/core/render.js";
import { createHttpServer, type HealthView } from "../../src/http/server.js";
import { HealthState } from "../../src/runtime/health.js";
import { memoryLogger } from "../helpers/fixtures.js";

const TARGETS = '[\n{"targets":["10.0.1.5:8080"],"labels":{"__metrics_path__":"/metrics","namespace":"prod.local"}}\n]\n';

let server: Server;
let base: string;
let clock: number;
let health: HealthState;
let registry: Registry;
let targets: FileContent | undefined;
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

  describe("503 bodies say why, in one line", () => {
    /** A server over a health view; closed by the caller. */
    async function serve(view: HealthView): Promise<{ url: string; close: () => Promise<void> }> {
      const other = createHttpServer({ registry, health: view, targets: () => targets, logger: logged.logger });
      other.listen(0, "127.0.0.1");
      await once(other, "listening");
      return {
        url: `http://127.0.0.1:${(other.address() as AddressInfo).port}`,
        close: () => new Promise((resolve) => other.close(() => resolve())),
      };
    }

    it("uses the reason describe() gives, for /healthz and /ready", async () => {
      // Prepare
      const view: HealthView = {
        alive: () => false,
        ready: false,
        describe: () => ({ alive: false, ready: false, reason: "no discovery cycle has finished for 400 s (bound 300 s)" }),
      };
      const other = await serve(view);

      // Act
      const healthz = await fetch(`${other.url}/healthz`);
      const ready = await fetch(`${other.url}/ready`);
      await other.close();

      // Assess
      expect(healthz.status).toBe(503);
      expect(await healthz.text()).toBe("no discovery cycle has finished for 400 s (bound 300 s)\n");
      expect(ready.status).toBe(503);
      expect(await ready.text()).toBe("no discovery cycle has finished for 400 s (bound 300 s)\n");
    });

    it("answers from describe() rather than alive() and ready when it exists", async () => {
      // Prepare: describe() is the one answer; the plain members disagree on purpose.
      const other = await serve({
        alive: () => false,
        ready: false,
        describe: () => ({ alive: true, ready: false, reason: "no complete discovery yet: see the log" }),
      });

      // Act
      const healthz = await fetch(`${other.url}/healthz`);
      const ready = await fetch(`${other.url}/ready`);
      await other.close();

      // Assess
      expect(healthz.status).toBe(200);
      expect(await ready.text()).toBe("no complete discovery yet: see the log\n");
    });

    it("keeps a multi-line reason on one line", async () => {
      const other = await serve({ alive: () => true, ready: false, describe: () => ({ alive: true, ready: false, reason: "first\n  second\n" }) });

      const body = await (await fetch(`${other.url}/ready`)).text();
      await other.close();

      expect(body).toBe("first second\n");
    });

    it("falls back to the fixed bodies when describe() gives no reason, or there is no describe()", async () => {
      // Prepare
      const withoutReason = await serve({ alive: () => false, ready: false, describe: () => ({ alive: false, ready: false }) });
      const plain = await serve({ alive: () => false, ready: false });

      // Act
      const bodies = await Promise.all(
        [withoutReason, plain].flatMap((other) => ["/healthz", "/ready"].map(async (path) => (await fetch(`${other.url}${path}`)).text())),
      );
      await Promise.all([withoutReason.close(), plain.close()]);

      // Assess
      expect(bodies).toEqual(["refresh loop stopped or stuck\n", "no complete discovery yet\n", "refresh loop stopped or stuck\n", "no complete discovery yet\n"]);
    });

    it("says why with the real HealthState once its loop has stopped", async () => {
      health.loopStopped();

      const response = await fetch(`${base}/healthz`);

      expect(response.status).toBe(503);
      expect((await response.text()).split("\n")).toHaveLength(2);
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

    it("streams chunked content (the targets file) as the same bytes as its text rendering, with its length", async () => {
      // Prepare: ~4 MB of compact lines (services of 20), with multi-byte characters.
      const groups: TargetGroup[] = Array.from({ length: 20_000 }, (_, i) => ({
        targets: [`10.0.${i >> 8}.${i & 255}:8080`],
        labels: { note: `ünï 😀 ${"x".repeat(150)}`, service: `svc-${Math.floor(i / 20)}`, task: `t-${i}-😀` },
      }));
      const services = Array.from({ length: 1000 }, (_, s) => groups.slice(20 * s, 20 * s + 20));
      targets = frameLines(services.flatMap((service) => renderCompactLines(service)));
      const expected = Buffer.from(renderTargetGroups(groups), "utf8");

      // Act
      const response = await fetch(`${base}/prometheus-targets`);

      // Assess
      expect(response.headers.get("content-length")).toBe(String(expected.length));
      expect(Buffer.from(await response.arrayBuffer()).equals(expected)).toBe(true);
    });

    it("answers HEAD for chunked content with its length and no body", async () => {
      targets = frameLines(renderCompactLines([{ targets: ["10.0.1.5:8080"], labels: {} }]));

      const response = await fetch(`${base}/prometheus-targets`, { method: "HEAD" });

      expect(response.headers.get("content-length")).toBe(String(Buffer.byteLength(textOf(targets))));
      expect(await response.text()).toBe("");
    });

    it("stops streaming to a client that goes away, and keeps serving others", async () => {
      // Prepare: more than the socket buffers hold, so the stream waits on the client.
      const groups = Array.from({ length: 50_000 }, (_, i) => ({ targets: [`10.1.${i >> 8}.${i & 255}:8080`], labels: { pad: `${"p".repeat(200)}${i}` } }));
      targets = frameLines(renderCompactLines(groups));
      const { port } = server.address() as AddressInfo;
      const socket = connect(port, "127.0.0.1");
      await once(socket, "connect");
      socket.write("GET /prometheus-targets HTTP/1.1\r\nHost: x\r\n\r\n");

      // Act
      await once(socket, "data");
      socket.destroy();
      targets = TARGETS;
      const response = await fetch(`${base}/prometheus-targets`);

      // Assess
      expect(await response.text()).toBe(TARGETS);
      expect(logged.lines().filter((line) => line.level === "error")).toEqual([]);
    });

    it("waits on a slow client instead of queueing the file: about one batch held, then every byte", async () => {
      // Prepare: ~11 MB of compact lines, far more than the socket buffers hold.
      const groups = Array.from({ length: 50_000 }, (_, i) => ({ targets: [`10.1.${i >> 8}.${i & 255}:8080`], labels: { pad: `${"p".repeat(200)}${i}` } }));
      targets = frameLines(renderCompactLines(groups));
      const expected = Buffer.from(renderTargetGroups(groups), "utf8");
      const responses: ServerResponse[] = [];
      server.on("request", (_, response: ServerResponse) => responses.push(response));
      const { port } = server.address() as AddressInfo;
      const socket = connect(port, "127.0.0.1");
      await once(socket, "connect");
      const received: Buffer[] = [];
      socket.on("data", (data: Buffer) => received.push(data));
      socket.pause();
      socket.write("GET /prometheus-targets HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

      // Act: the client reads nothing until the server's queue stops growing.
      let queued = -1;
      let most = 0;
      for (let stable = 0; stable < 5; ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const response = responses[0];
        if (response === undefined) continue;
        most = Math.max(most, response.writableLength);
        stable = response.writableLength === queued ? stable + 1 : 0;
        queued = response.writableLength;
      }
      socket.resume();
      await once(socket, "end");

      // Assess: at most one 64 KB batch and the headers queued, not the file; then the whole body.
      expect(most).toBeLessThanOrEqual(64 * 1024 + 1024);
      const raw = Buffer.concat(received);
      const body = raw.subarray(raw.indexOf("\r\n\r\n") + 4);
      expect(body.length).toBe(expected.length);
      expect(body.equals(expected)).toBe(true);
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
