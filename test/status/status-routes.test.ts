/** GET / and GET /api/v1/status on the sidecar's HTTP server (src/http/server.ts). */
import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { buildTargetGroups, targetKey } from "../../src/core/target-groups.js";
import { createHttpServer, type HttpDeps } from "../../src/http/server.js";
import { HealthState } from "../../src/runtime/health.js";
import { StatusRecorder } from "../../src/status/recorder.js";
import type { Status } from "../../src/status/status.js";
import { memoryLogger, snapshot } from "../helpers/fixtures.js";

let server: Server | undefined;

async function serve(status?: HttpDeps["status"]): Promise<{ base: string; lines: ReturnType<typeof memoryLogger>["lines"] }> {
  const { logger, lines } = memoryLogger();
  server = createHttpServer({ registry: new Registry(), health: new HealthState(1_000, () => 0), targets: () => "[]\n", logger, ...(status ? { status } : {}) });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, lines };
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

function recorderWithOneCycle(): StatusRecorder {
  const recorder = new StatusRecorder({ version: "0.1.0", parameterName: "NS", intervalSeconds: 30, ecsEnrichment: "auto" }, new ManualClock());
  const snapshots = [snapshot({ serviceName: "<script>alert(1)</script>", serviceId: "srv-x" }), snapshot({ serviceName: "web" })];
  const { groups, skips } = buildTargetGroups(snapshots);
  recorder.cycleFinished({
    report: { outcome: "success", durationMs: 3, apiCalls: 5, targets: 2, added: 2, removed: 0, errors: 0, file: "written" },
    parameter: { value: "prod.local", names: ["prod.local"] },
    discovery: { snapshots, skips, keys: groups.map(targetKey), missingNamespaces: [], lastCompleteAt: new Map([["prod.local", 0]]), errors: [] },
    errors: [],
  });
  return recorder;
}

describe("the status routes", () => {
  it("GET /api/v1/status returns the status document as JSON", async () => {
    const recorder = recorderWithOneCycle();
    const { base } = await serve(() => recorder.status());

    const response = await fetch(`${base}/api/v1/status`);
    const body = (await response.json()) as Status;

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(body.version).toBe(1);
    expect(body.services.map((s) => s.name)).toEqual(["<script>alert(1)</script>", "web"]);
    expect(body.summary).toMatchObject({ services: 2, servicesScraped: 2, targets: 2 });
  });

  it("GET / serves the HTML page made from the same document, with the query's filter; HEAD answers without a body", async () => {
    const recorder = recorderWithOneCycle();
    const { base } = await serve(() => recorder.status());

    const page = await fetch(`${base}/?q=web`);
    const html = await page.text();
    const head = await fetch(`${base}/`, { method: "HEAD" });

    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(html).toContain('data-service="prod.local/web"');
    expect(html).not.toContain("alert(1)");
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await head.text()).toBe("");
  });

  it("answers 500 when the status cannot be made, logs it, and goes on serving", async () => {
    const { base, lines } = await serve(() => {
      throw new Error("bug in the recorder");
    });

    const page = await fetch(`${base}/`);
    const json = await fetch(`${base}/api/v1/status`);
    const healthz = await fetch(`${base}/healthz`);

    expect(page.status).toBe(500);
    expect(await page.text()).toBe("rendering the status failed\n");
    expect(json.status).toBe(500);
    expect(healthz.status).toBe(200);
    expect(lines().filter((line) => line.msg === "rendering the status failed")).toHaveLength(2);
  });

  it("without a status source, / keeps its plain index and /api/v1/status is 404", async () => {
    const { base } = await serve();
    expect(await (await fetch(`${base}/`)).text()).toContain("/metrics /healthz /ready /prometheus-targets");
    expect((await fetch(`${base}/api/v1/status`)).status).toBe(404);
  });
});
