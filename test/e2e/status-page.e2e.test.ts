/**
 * The status page in a real browser: the demo estate (emulator + sample apps) with one namespace
 * denied, the built sidecar, and Debian's Chromium driven by puppeteer-core. The page is checked
 * with JavaScript off (it must work without it) and, for the escaping, with JavaScript on.
 * UPDATE_SCREENSHOT=1 rewrites docs/status-screenshot.png (the README shows it).
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoTopology, startDemoApps } from "../../dev/demo-topology.js";
import { type Emulator, startEmulator } from "../../dev/emulator/index.js";
import { freePort, httpStatus, type ManagedProcess, sidecarEnv, startSidecar, waitFor } from "../../dev/processes.js";
import type { SampleApp } from "../../dev/sample-app.js";
import { findOnPath } from "../../dev/which.js";
import type { Status } from "../../src/status/status.js";
import { built, ROOT } from "../helpers/built.js";
import { type DenyProxy, startDenyProxy } from "./deny-proxy.js";

const chromium = process.env.CHROMIUM_PATH ?? (await findOnPath("chromium"));
if (!chromium && !process.env.CI) {
  console.warn("\n!!! SKIPPING the status page browser test: no chromium on PATH (Debian: apt-get install chromium) !!!\n");
}
const XSS_NAME = "<script>alert(1)</script>";
const SCREENSHOT = join(ROOT, "docs/status-screenshot.png");

// In CI a missing browser is a failure, never a skip.
describe.skipIf(!chromium && !process.env.CI)("the status page in a real browser", () => {
  let dir: string;
  let apps: SampleApp[] = [];
  let emulator: Emulator;
  let proxy: DenyProxy;
  let sidecar: ManagedProcess;
  let sidecarUrl: string;
  let browser: Browser;

  const status = async () => (await (await fetch(`${sidecarUrl}/api/v1/status`)).json()) as Status;
  const rowText = (page: Page, service: string) =>
    page.$eval(`tr[data-service="${service}"]`, (row) => (row.textContent ?? "").replace(/\s+/g, " "));

  beforeAll(async () => {
    expect(chromium, "chromium is needed in CI (.ci/run installs it with apt-get)").toBeDefined();
    built("dist/src/main.js");
    dir = await mkdtemp(join(tmpdir(), "cloudmap-sd-status-e2e-"));
    const demo = await startDemoApps();
    apps = demo.apps;
    emulator = await startEmulator({ topology: demoTopology(demo.ports) });
    // A service whose tag is wrong: skipped, with the reason and the value.
    emulator.state.createService("ecs-services", {
      name: "billing-svc",
      tags: { METRICS_PATH: "/metrics", METRICS_PORT: "abc" },
      instances: [{ id: "b1".padEnd(32, "0"), attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(demo.ports.orders) } }],
    });
    proxy = await startDenyProxy(emulator.url);

    const configDir = join(dir, "config");
    await mkdir(configDir);
    const port = await freePort();
    sidecarUrl = `http://127.0.0.1:${port}`;
    sidecar = startSidecar(sidecarEnv({ emulatorUrl: proxy.url, configDir, listenPort: port, reloadSeconds: 1 }));
    await waitFor("cloudmap-sd /ready", async () => ((await httpStatus(`${sidecarUrl}/ready`)) === 200 ? true : undefined), { timeoutMs: 30_000 }).catch(
      (error: unknown) => {
        throw new Error(`${String(error)}\n${sidecar.output()}`);
      },
    );

    // ecs-connect's service list is now denied: it keeps its last-known-good targets.
    const connect = [...emulator.state.namespaces()].find((namespace) => namespace.name === "ecs-connect");
    proxy.deny(connect?.id ?? "no such namespace");
    await waitFor("ecs-connect in error on /api/v1/status", async () =>
      (await status()).namespaces.find((namespace) => namespace.name === "ecs-connect")?.state === "error" ? true : undefined,
    );

    browser = await puppeteer.launch({ executablePath: chromium as string, args: ["--no-sandbox", "--headless=new"] });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await sidecar?.stop();
    await proxy?.close();
    await emulator?.close();
    await Promise.all(apps.map((app) => app.close()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("shows a scraped service, a skipped one with its reason, and a namespace in error, with JavaScript off", async () => {
    // Prepare
    const page = await browser.newPage();
    await page.setJavaScriptEnabled(false);
    await page.setViewport({ width: 1400, height: 900 });

    // Act
    const response = await page.goto(`${sidecarUrl}/`, { waitUntil: "load" });

    // Assess
    expect(response?.status()).toBe(200);
    expect(await page.title()).toBe("cloudmap-sd status");
    expect(await rowText(page, "ecs-services/webapp-svc")).toMatch(/webapp-svc.*scraped.*tags METRICS_PATH=\/metrics/);
    const billing = await rowText(page, "ecs-services/billing-svc");
    expect(billing).toContain("not scraped");
    expect(billing).toContain("invalid_metrics_port");
    expect(billing).toContain('port "abc" is not an integer in 1..65535');
    const connect = await page.$eval("tr.ns-error", (row) => (row.textContent ?? "").replace(/\s+/g, " "));
    expect(connect).toContain("ecs-connect");
    expect(connect).toContain("AccessDeniedException");
    expect(await rowText(page, "ecs-connect/payments")).toMatch(/last-known-good since/);
    if (process.env.UPDATE_SCREENSHOT === "1") await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // Act: the filter is a plain GET form
    await page.type('input[name="q"]', "orders");
    await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click('button[type="submit"]')]);

    // Assess
    expect(new URL(page.url()).searchParams.get("q")).toBe("orders");
    const shown = await page.$$eval("tr[data-service]", (rows) => rows.map((row) => row.getAttribute("data-service")));
    expect(shown).toEqual(["ecs-services/orders-svc"]);
    await page.close();
  });

  it(`shows a service named ${XSS_NAME} as text, with JavaScript on`, async () => {
    // Prepare
    emulator.state.createService("ecs-services", {
      name: XSS_NAME,
      tags: { METRICS_PATH: "/metrics" },
      instances: [{ id: "x1".padEnd(32, "0"), attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: "9" } }],
    });
    await waitFor("the service on /api/v1/status", async () => ((await status()).services.some((service) => service.name === XSS_NAME) ? true : undefined));
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });

    // Act
    await page.goto(`${sidecarUrl}/?q=script`, { waitUntil: "load" });

    // Assess
    expect(await page.$$eval("script", (scripts) => scripts.length)).toBe(0);
    expect(await rowText(page, `ecs-services/${XSS_NAME}`)).toContain(XSS_NAME);
    expect(dialogs).toEqual([]);
    await page.close();
  });
});
