/** The README's first command: `npm run demo` must show targets discovered and stop cleanly. */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const DEMO = fileURLToPath(new URL("../../dist/dev/demo.js", import.meta.url));

describe("npm run demo", () => {
  it("discovers the sample estate, follows a registration and stops every process it started", async () => {
    expect(existsSync(DEMO), `${DEMO} is built by npm run build (part of npm test)`).toBe(true);
    const { stdout } = await promisify(execFile)(process.execPath, [DEMO, "--duration", "7", "--churn-seconds", "2", "--no-prometheus"], {
      timeout: 40_000,
    });
    expect(stdout).toContain("cloudmap-sd demo is running");
    expect(stdout).toMatch(/targets file\s+\S+ecs-services\.json\s+\(5 targets\)/);
    expect(stdout).toMatch(/\[demo\] registered task \w+ in webapp-svc/);
    expect(stdout).toMatch(/\[cloudmap-sd\] cycle success: 6 targets \(\+1 -0\)/);
    expect(stdout).toContain("stopped: every process the demo started has exited.");
  }, 60_000);
});
