// There is no Docker engine on our machines or in CI, so this test proves the image
// recipe another way: it reads the Dockerfile, checks its invariants, then replays the
// stages in clean folders (the build stage's COPY and RUN lines, with the repository's
// node_modules standing in for its `npm ci`; the final stage's COPY lines, its ENTRYPOINT
// and HEALTHCHECK) and talks to the running entry point.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execForm, parseCopy, parseDockerfile, parseEnv, type Stage } from "./dockerfile-parser.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dockerfile = parseDockerfile(readFileSync(path.join(repo, "Dockerfile"), "utf8"));
const finalStage = dockerfile.stages.at(-1) as Stage;
const packageJson = JSON.parse(readFileSync(path.join(repo, "package.json"), "utf8")) as {
  version: string;
  bin: Record<string, string>;
};

function only(stage: Stage, keyword: string) {
  const found = stage.instructions.filter((instruction) => instruction.keyword === keyword);
  expect(found, `${keyword} in stage ${stage.name}`).toHaveLength(1);
  return found[0]!;
}

function stageNamed(name: string): Stage {
  const stage = dockerfile.stages.find((candidate) => candidate.name === name);
  if (stage === undefined) throw new Error(`the Dockerfile has no stage ${name}`);
  return stage;
}

const entrypoint = execForm(only(finalStage, "ENTRYPOINT"));
const healthcheck = execForm(only(finalStage, "HEALTHCHECK"), "CMD");
const finalCopies = finalStage.instructions.filter((i) => i.keyword === "COPY").map(parseCopy);

describe("Dockerfile invariants", () => {
  it("ships on Node 24 LTS in the final stage", () => {
    expect(finalStage.base).toMatch(/^node:24(-|$)|^gcr\.io\/distroless\/nodejs24/);
  });

  it("runs as a non-root user", () => {
    const user = only(finalStage, "USER").args.split(":")[0];
    expect(user).not.toMatch(/^(root|0)$/);
  });

  it("starts the package's bin entry point with node, any Node or V8 flags between the two", () => {
    expect(entrypoint[0]).toBe("node");
    expect(entrypoint.at(-1)).toBe(packageJson.bin["cloudmap-sd"]);
    for (const flag of entrypoint.slice(1, -1)) expect(flag).toMatch(/^--/);
  });

  it("does not enable source maps: on Node 24 parsing the bundle's map costs ~55 MB of RSS", () => {
    const nodeOptions = parseEnv(only(finalStage, "ENV")).get("NODE_OPTIONS") ?? "";
    expect([...entrypoint, nodeOptions].join(" ")).not.toContain("--enable-source-maps");
  });

  it("ships the sidecar's bundle and package.json, and no node_modules", () => {
    for (const copy of finalCopies) {
      if (copy.from === undefined) {
        // From the build context: package metadata ("type": "module" and the version).
        expect(copy.sources).toEqual(["package.json"]);
        continue;
      }
      expect(copy.sources).toEqual(["/app/dist/src"]);
      const producer = stageNamed(copy.from).instructions.filter((i) => i.keyword === "RUN").map((i) => i.args);
      expect(producer.some((run) => run.includes("build.mjs"))).toBe(true);
    }
    expect(finalCopies.some((copy) => copy.sources.includes("/app/dist/src"))).toBe(true);
    expect(finalCopies.flatMap((copy) => copy.sources).filter((s) => s.includes("node_modules"))).toEqual([]);
  });

  it("exposes 9001, stops with SIGTERM, declares the config volume, and health-checks without curl", () => {
    expect(only(finalStage, "EXPOSE").args).toBe("9001");
    expect(only(finalStage, "STOPSIGNAL").args).toBe("SIGTERM");
    const env = parseEnv(only(finalStage, "ENV"));
    expect(execForm(only(finalStage, "VOLUME"))).toEqual([env.get("CONFIG_FILE_DIR")]);
    expect(env.get("LISTEN_ADDRESS")).toMatch(/:9001$/);
    expect(healthcheck[0]).toBe("node");
    expect(healthcheck.join(" ")).toContain("/healthz");
    expect(healthcheck.join(" ")).not.toMatch(/\b(curl|wget)\b/);
  });

  it("keeps the build context to what the Dockerfile copies", () => {
    const ignore = readFileSync(path.join(repo, ".dockerignore"), "utf8")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"));
    expect(ignore[0]).toBe("*");
    const allowed = ignore.filter((line) => line.startsWith("!")).map((line) => line.slice(1).replace(/\/$/, ""));
    const fromContext = dockerfile.stages
      .flatMap((stage) => stage.instructions.filter((i) => i.keyword === "COPY").map(parseCopy))
      .filter((copy) => copy.from === undefined)
      .flatMap((copy) => copy.sources.map((source) => source.replace(/\/$/, "")));
    expect(new Set(allowed)).toEqual(new Set(fromContext));
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

function listFiles(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: "utf8" }).sort();
}

function waitForExit(child: ChildProcess, ms: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still running ${ms} ms after SIGTERM`)), ms);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** A stage's path under /app (its WORKDIR) as a path under the folder that stands for it. */
function inStage(stageDir: string, imagePath: string): string {
  return path.join(stageDir, imagePath.replace(/^\/app\/?/, ""));
}

/** The stage's COPY (from the build context) and RUN lines, in `dir`. */
function replayStage(stage: Stage, dir: string): void {
  for (const instruction of stage.instructions) {
    if (instruction.keyword === "COPY") {
      const copy = parseCopy(instruction);
      if (copy.from !== undefined) throw new Error(`stage ${stage.name}: COPY --from is not replayed here`);
      for (const source of copy.sources) {
        const target = copy.destination.endsWith("/") ? path.join(dir, copy.destination, path.basename(source)) : path.join(dir, copy.destination);
        cpSync(path.join(repo, source), target, { recursive: true });
      }
    } else if (instruction.keyword === "RUN") {
      if (/\bnpm ci\b/.test(instruction.args)) {
        // The repository's own `npm ci` (CI runs it from the same lock file) stands in for it.
        symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"), "dir");
      } else if (instruction.args.startsWith("[")) {
        const [command, ...args] = execForm(instruction);
        execFileSync(command!, args, { cwd: dir, stdio: "inherit" });
      } else {
        execFileSync("sh", ["-c", instruction.args], { cwd: dir, stdio: "inherit" });
      }
    }
  }
}

/** Every folder from `dir` up to the root: where Node would look for node_modules. */
function ancestors(dir: string): string[] {
  const parent = path.dirname(dir);
  return parent === dir ? [dir] : [dir, ...ancestors(parent)];
}

describe("Dockerfile recipe, replayed without Docker", () => {
  const work = mkdtempSync(path.join(tmpdir(), "cloudmap-sd-image-"));
  const app = path.join(work, "app");
  const configDir = path.join(work, "etc-config");
  let child: ChildProcess | undefined;
  let stderr = "";

  beforeAll(() => {
    // Every stage the final one copies from, each in its own clean folder.
    const stageDirs = new Map<string, string>();
    for (const name of new Set(finalCopies.map((copy) => copy.from).filter((from) => from !== undefined))) {
      const dir = path.join(work, `stage-${name}`);
      mkdirSync(dir, { recursive: true });
      replayStage(stageNamed(name), dir);
      stageDirs.set(name, dir);
    }

    // Final stage: the COPY lines, from the context and from the other stages.
    mkdirSync(app, { recursive: true });
    mkdirSync(configDir, { recursive: true });
    for (const copy of finalCopies) {
      for (const source of copy.sources) {
        const target = path.join(app, copy.destination, copy.destination.endsWith("/") ? path.basename(source) : "");
        const from = copy.from === undefined ? path.join(repo, source) : inStage(stageDirs.get(copy.from)!, source);
        cpSync(from, target, { recursive: true });
      }
    }
  }, 120_000);

  afterAll(() => {
    child?.kill("SIGKILL");
    rmSync(work, { recursive: true, force: true });
  });

  it("has no node_modules where the entry point could find one: the bundle carries its dependencies", () => {
    const script = path.join(app, entrypoint.at(-1)!);
    expect(existsSync(script)).toBe(true);
    expect(ancestors(path.dirname(script)).filter((dir) => existsSync(path.join(dir, "node_modules")))).toEqual([]);
  });

  it("reports package.json's version from the image's layout", () => {
    const stdout = execFileSync(process.execPath, [...entrypoint.slice(1), "--version"], { cwd: app, encoding: "utf8" });
    expect(stdout.trim()).toBe(`cloudmap-sd ${packageJson.version}`);
  });

  it("starts the entry point, answers /healthz and the HEALTHCHECK, writes only CONFIG_FILE_DIR, exits 0 on SIGTERM", async () => {
    const port = await freePort();
    const imageEnv = Object.fromEntries(parseEnv(only(finalStage, "ENV")));
    const env = {
      PATH: process.env["PATH"] ?? "",
      ...imageEnv,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "x",
      AWS_SECRET_ACCESS_KEY: "x",
      // Nothing listens there: every AWS call fails fast, and /healthz must still say 200.
      AWS_ENDPOINT_URL: "http://127.0.0.1:1",
      LISTEN_ADDRESS: `127.0.0.1:${port}`,
      CONFIG_FILE_DIR: configDir,
    };
    const before = listFiles(app);
    child = spawn(process.execPath, entrypoint.slice(1), { cwd: app, env, stdio: ["ignore", "ignore", "pipe"] });
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));

    let status = 0;
    for (let attempt = 0; attempt < 100 && status !== 200 && child.exitCode === null; attempt++) {
      status = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 0);
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status, `/healthz (stderr: ${stderr.slice(-2000)})`).toBe(200);

    // The image's own HEALTHCHECK command, run as Docker would run it inside the container.
    const probe = spawn(process.execPath, healthcheck.slice(1), { env, stdio: "ignore" });
    expect(await waitForExit(probe, 10_000)).toBe(0);

    child.kill("SIGTERM");
    expect(await waitForExit(child, 2_500)).toBe(0);
    expect(listFiles(app), "files written outside CONFIG_FILE_DIR").toEqual(before);
  }, 30_000);
});
