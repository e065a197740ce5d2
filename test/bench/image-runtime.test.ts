import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { imageRuntime } from "../../bench/image-runtime.js";

describe("imageRuntime (the bench runs the sidecar as the image does)", () => {
  it("reads the node flags of the final stage's ENTRYPOINT and its ENV, not the build stage's", () => {
    const dockerfile = [
      "FROM node:24 AS build",
      "ENV BUILD_ONLY=1",
      'ENTRYPOINT ["node", "--nope", "x.js"]',
      "FROM node:24 AS runtime",
      "ENV NODE_ENV=production \\",
      '    MALLOC_ARENA_MAX="2"',
      'ENTRYPOINT ["node", "--max-semi-space-size=2", "--heap-growing-percent=20", "dist/src/main.js", "--flag-of-the-script"]',
    ].join("\n");

    expect(imageRuntime(dockerfile)).toEqual({
      nodeFlags: ["--max-semi-space-size=2", "--heap-growing-percent=20"],
      env: { NODE_ENV: "production", MALLOC_ARENA_MAX: "2" },
    });
  });

  it("refuses a shell-form or non-node ENTRYPOINT with a clear error", () => {
    expect(() => imageRuntime("FROM x\nENTRYPOINT node main.js\n")).toThrow(/exec-form ENTRYPOINT/);
    expect(() => imageRuntime('FROM x\nENTRYPOINT ["sh", "-c", "node main.js"]\n')).toThrow(/does not start with node/);
  });

  it("finds the repository's Dockerfile flags (the ones the bench uses)", () => {
    const runtime = imageRuntime(readFileSync(join(import.meta.dirname, "../../Dockerfile"), "utf8"));

    expect(runtime.nodeFlags).toContain("--max-semi-space-size=2");
    expect(runtime.env.NODE_ENV).toBe("production");
  });
});
