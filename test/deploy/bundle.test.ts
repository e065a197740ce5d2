// build.mjs bundles each entry point into one file; these pin what bundling must not change
// about how the modules inside behave, compared with one built file per module.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { built, ROOT } from "../helpers/built.js";

const { version } = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string };

/** stdout of `node <file> --version`, with no AWS settings: a started sidecar would say so. */
function versionRun(file: string): { stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [file, "--version"], {
    env: { PATH: process.env["PATH"] ?? "" },
    encoding: "utf8",
    timeout: 20_000,
  });
  return { stdout: run.stdout, stderr: run.stderr };
}

describe("bundled entry points", () => {
  let sidecar: string;
  let benchWorker: string;

  beforeAll(() => {
    sidecar = built("dist/src/main.js");
    benchWorker = built("dist/bench/worker.js");
  }, 60_000);

  it("the sidecar runs its command line when started", () => {
    expect(versionRun(sidecar).stdout).toBe(`cloudmap-sd ${version}\n`);
  });

  it("takes node:http and node:https through require, not an ES import (Node 22+ would load undici: ~14 MB)", () => {
    // An ES import of node:http makes Node 24 read every export, http.WebSocket included, which
    // loads undici and the web streams; build.mjs routes both through the bundle's require.
    for (const file of [sidecar, benchWorker]) {
      const text = readFileSync(file, "utf8");
      expect(text, file).not.toMatch(/from\s*"(node:)?https?"/);
      expect(text, file).toContain('__require("node:http")');
    }
    const run = spawnSync(
      process.execPath,
      ["--input-type=module", "-e", `await import(${JSON.stringify(sidecar)}); console.log(process.moduleLoadList.filter((m) => m.includes("undici")).join(","))`],
      { env: { PATH: process.env["PATH"] ?? "" }, encoding: "utf8", timeout: 20_000 },
    );
    expect(run.stderr).toBe("");
    expect(run.stdout.trim(), `undici loaded on ${process.version}`).toBe("");
  });

  it("leaves out keepNames' per-function wrapper, and no class of ours is renamed in the bundle", () => {
    // build.mjs turns keepNames off for these bundles (it cost 9-17 % CPU per steady cycle): a
    // class of ours renamed by bundling (Foo -> Foo2) would then show its new name in stack traces.
    const ours = readdirSync(path.join(ROOT, "src"), { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(".ts"))
      .flatMap((file) => [...readFileSync(path.join(ROOT, "src", file), "utf8").matchAll(/\bclass ([A-Za-z_$][\w$]*)/g)].map((match) => match[1] as string));
    expect(ours).toContain("AwsCallError");
    for (const file of [sidecar, benchWorker]) {
      const text = readFileSync(file, "utf8");
      expect(text.includes("__name("), `${file} has keepNames' wrappers`).toBe(false);
      // A class is bundled as `class Foo`, or as `Foo=class` (which names it Foo all the same) but
      // not `Foo=class _Foo` (named _Foo: esbuild's form for a class that refers to itself).
      const declared = (name: string) => new RegExp(`\\bclass ${name}\\b|\\b${name}\\s*=\\s*class(\\s+extends\\b|\\s*\\{)`);
      expect(declared("AwsCallError").test(text), `${file} declares AwsCallError`).toBe(true);
      const renamed = ours.filter(
        (name) => declared(`${name.replace("$", "\\$")}\\d+`).test(text) || new RegExp(`\\b${name.replace("$", "\\$")}\\d*\\s*=\\s*class\\s+_`).test(text),
      );
      expect(renamed, file).toEqual([]);
    }
  });

  it("the bench worker contains src/main.ts but does not run the sidecar's command line", () => {
    // src/main.ts runs main() only when its import.meta.url is the started file; inside the
    // worker's bundle that URL must still be dist/src/main.js, not dist/bench/worker.js.
    const { stdout, stderr } = versionRun(benchWorker);
    expect(stdout + stderr).not.toContain(`cloudmap-sd ${version}`);
  });
});
