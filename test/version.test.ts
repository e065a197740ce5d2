import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { registerBuildInfo } from "../src/metrics.js";
import { packageVersion } from "../src/version.js";
import { tempDirs } from "./helpers/fixtures.js";

const ours = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

describe("packageVersion", () => {
  const dirs = tempDirs("cloudmap-sd-version-");
  afterEach(() => dirs.cleanup());

  it("is package.json's version when run from src/", () => {
    expect(packageVersion()).toBe(ours.version);
    expect(ours.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("finds package.json two levels up, as in the image (/app/package.json, /app/dist/src)", async () => {
    // Prepare
    const app = await dirs.make();
    await mkdir(join(app, "dist", "src"), { recursive: true });
    await writeFile(join(app, "package.json"), JSON.stringify({ name: "cloudmap-sd", version: "9.8.7" }));

    // Act + Assess
    expect(packageVersion(join(app, "dist", "src"))).toBe("9.8.7");
  });

  it("skips another package's package.json on the way up", async () => {
    // Prepare
    const app = await dirs.make();
    await mkdir(join(app, "dist", "src"), { recursive: true });
    await writeFile(join(app, "dist", "package.json"), JSON.stringify({ type: "module" }));
    await writeFile(join(app, "package.json"), JSON.stringify({ name: "cloudmap-sd", version: "1.2.3" }));

    expect(packageVersion(join(app, "dist", "src"))).toBe("1.2.3");
  });

  it("is 'unknown' rather than a crash when no package.json of ours is found", async () => {
    const dir = await dirs.make();

    expect(packageVersion(dir)).toBe("unknown");
  });
});

describe("registerBuildInfo", () => {
  it("adds cloudmap_sd_build_info{version, node} = 1", async () => {
    // Prepare
    const registry = new Registry();

    // Act
    registerBuildInfo(registry, "1.2.3", "v24.1.0");

    // Assess
    const text = await registry.metrics();
    expect(text).toContain("# TYPE cloudmap_sd_build_info gauge");
    expect(text).toContain('cloudmap_sd_build_info{version="1.2.3",node="v24.1.0"} 1');
  });

  it("labels the running Node.js version by default", async () => {
    const registry = new Registry();

    registerBuildInfo(registry, "1.2.3");

    expect(await registry.metrics()).toContain(`cloudmap_sd_build_info{version="1.2.3",node="${process.version}"} 1`);
  });
});
