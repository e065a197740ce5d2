/** The README's first command: `npm run demo` must show targets discovered and stop cleanly. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { startProcess, waitFor } from "../../dev/processes.js";
import { findOnPath } from "../../dev/which.js";
import { built } from "../helpers/built.js";

const prometheusBinary = await findOnPath("prometheus");
if (!prometheusBinary && !process.env.CI) {
  console.warn("\n!!! SKIPPING the demo's Prometheus URL check: no prometheus on PATH (Debian: apt-get install prometheus) !!!\n");
}

describe("npm run demo", () => {
  it("discovers the sample estate, follows a registration and stops every process it started", async () => {
    const demo = built("dist/dev/demo.js");
    const { stdout } = await promisify(execFile)(process.execPath, [demo, "--duration", "7", "--churn-seconds", "2", "--no-prometheus"], {
      timeout: 40_000,
    });
    expect(stdout).toContain("cloudmap-sd demo is running");
    expect(stdout).toMatch(/targets file\s+\S+ecs-services\.json\s+\(6 targets\)/);
    // The namespace a workload account shares: configured through service attributes (its tags are
    // not readable by this account), its task described with the role assumed in that account.
    expect(stdout).toMatch(/127\.0\.0\.1:\d+\s+workload-services\/inventory-svc \/metrics \(app\)/);
    expect(stdout).toContain("the tags of this service cannot be read (AccessDenied): using another channel");
    expect(stdout).not.toMatch(/AssumeRole|AWS calls failing/);
    expect(stdout).toMatch(/\[demo\] registered task \w+ in webapp-svc/);
    expect(stdout).toMatch(/\[cloudmap-sd\] cycle success: 7 targets \(\+1 -0\)/);
    expect(stdout).toContain("stopped: every process the demo started has exited.");
  }, 60_000);

  // In CI a missing Prometheus is a failure, never a skip.
  it.skipIf(!prometheusBinary && !process.env.CI)("prints a Prometheus targets page and a status page that answer 200", async () => {
    // Prepare
    const demo = startProcess("demo", process.execPath, [built("dist/dev/demo.js"), "--duration", "40", "--churn-seconds", "100"]);
    try {
      // Act
      const printed = await waitFor("the demo's URLs", () => {
        const output = demo.output();
        const prometheus = /Prometheus targets\s+(http:\/\/\S+)/.exec(output)?.[1];
        const status = /status page\s+(http:\/\/\S+)/.exec(output)?.[1];
        return prometheus && status ? { prometheus, status } : undefined;
      }, { timeoutMs: 45_000 }).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${demo.output()}`);
      });

      // Assess: Debian's Prometheus 2.42 has only the classic UI, where /targets is 404
      const targetsPage = await fetch(printed.prometheus);
      expect(targetsPage.status, printed.prometheus).toBe(200);
      // It is the targets page: the job appears once Prometheus has read the file.
      await waitFor("the ecs-services job on the targets page", async () =>
        (await (await fetch(printed.prometheus)).text()).includes("ecs-services") ? true : undefined,
      );
      const statusPage = await fetch(printed.status);
      expect(statusPage.status).toBe(200);
      expect(await statusPage.text()).toContain("<title>cloudmap-sd status</title>");
    } finally {
      const code = await demo.stop(10_000);
      expect(code).toBe(0);
      expect(demo.output()).toContain("stopped: every process the demo started has exited.");
    }
  }, 90_000);
});
