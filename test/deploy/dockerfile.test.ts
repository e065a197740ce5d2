// There is no Docker engine on our machines or in CI, so this test proves the image
// recipe another way: it reads the Dockerfile, checks its invariants, then replays the
// production stages (production-only install into a clean folder, the final stage's
// COPY lines, its ENTRYPOINT and HEALTHCHECK) and talks to the running entry point.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, cpSync, statSync, mkdirSync } from "node:fs";
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
  bin: Record<string, string>;
  devDependencies: Record<string, string>;
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

  it("starts the package's bin entry point with node", () => {
    expect(entrypoint).toEqual(["node", packageJson.bin["cloudmap-sd"]]);
  });

  it("copies only dist/src from the build stage and node_modules from a production-only install", () => {
    for (const copy of finalCopies) {
      if (copy.from === undefined) {
        // From the build context: nothing but package metadata.
        expect(copy.sources).toEqual(["package.json"]);
        continue;
      }
      const source = stageNamed(copy.from);
      for (const from of copy.sources) {
        if (from.endsWith("/node_modules")) {
          const installs = source.instructions.filter((i) => i.keyword === "RUN" && /\bnpm ci\b/.test(i.args));
          expect(installs, `npm ci in stage ${source.name}`).toHaveLength(1);
          expect(installs[0]!.args).toContain("--omit=dev");
        } else {
          expect(from).toBe("/app/dist/src");
        }
      }
    }
    expect(finalCopies.some((copy) => copy.sources.some((s) => s.endsWith("/node_modules")))).toBe(true);
    expect(finalCopies.some((copy) => copy.sources.includes("/app/dist/src"))).toBe(true);
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
    expect(ignore.filter((line) => line.startsWith("!"))).toEqual(["!package.json", "!package-lock.json", "!tsconfig.json", "!src/"]);
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

function listFiles(root: string, skip: string): string[] {
  return readdirSync(root, { recursive: true, encoding: "utf8" })
    .filter((entry) => !entry.startsWith(skip))
    .sort();
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

describe("Dockerfile recipe, replayed without Docker", () => {
  const work = mkdtempSync(path.join(tmpdir(), "cloudmap-sd-image-"));
  const app = path.join(work, "app");
  const configDir = path.join(work, "etc-config");
  let child: ChildProcess | undefined;
  let stderr = "";

  beforeAll(() => {
    const entry = path.join(repo, entrypoint[1]!);
    const mainSource = path.join(repo, "src/main.ts");
    if (!existsSync(mainSource)) throw new Error("src/main.ts does not exist yet: the image has no entry point to start");
    // `npm test` builds first; rebuild only when dist is missing or older than src.
    if (!existsSync(entry) || statSync(entry).mtimeMs < statSync(mainSource).mtimeMs) {
      execFileSync("npm", ["run", "build"], { cwd: repo, stdio: "inherit" });
    }

    // Stage `deps`: its COPY lines and its RUN npm ci, in a clean folder.
    const deps = stageNamed(finalCopies.find((c) => c.sources.some((s) => s.endsWith("/node_modules")))!.from!);
    const depsDir = path.join(work, "deps");
    mkdirSync(depsDir, { recursive: true });
    for (const instruction of deps.instructions) {
      if (instruction.keyword === "COPY") {
        for (const source of parseCopy(instruction).sources) cpSync(path.join(repo, source), path.join(depsDir, source));
      } else if (instruction.keyword === "RUN") {
        // --prefer-offline: served from the npm cache CI has already filled.
        execFileSync("sh", ["-c", `${instruction.args} --prefer-offline`], { cwd: depsDir, stdio: "inherit" });
      }
    }

    // Final stage: the COPY lines, from the context, from `deps`, and from the build output.
    mkdirSync(app, { recursive: true });
    mkdirSync(configDir, { recursive: true });
    for (const copy of finalCopies) {
      for (const source of copy.sources) {
        const target = path.join(app, copy.destination, copy.destination.endsWith("/") ? path.basename(source) : "");
        if (copy.from === undefined) cpSync(path.join(repo, source), target);
        else if (source.endsWith("/node_modules")) renameSync(path.join(depsDir, "node_modules"), target);
        else cpSync(path.join(repo, source.replace(/^\/app\//, "")), target, { recursive: true });
      }
    }
  }, 240_000);

  afterAll(() => {
    child?.kill("SIGKILL");
    rmSync(work, { recursive: true, force: true });
  });

  it("installs no dev dependency", () => {
    for (const name of Object.keys(packageJson.devDependencies)) {
      expect(existsSync(path.join(app, "node_modules", name)), `${name} in the production image`).toBe(false);
    }
    expect(existsSync(path.join(app, "node_modules", "prom-client"))).toBe(true);
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
    const before = listFiles(app, "node_modules");
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
    expect(listFiles(app, "node_modules"), "files written outside CONFIG_FILE_DIR").toEqual(before);
  }, 30_000);
});
