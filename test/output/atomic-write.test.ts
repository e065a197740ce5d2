import { spawn } from "node:child_process";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chunksFrom } from "../../src/core/file-content.js";
import type { TargetGroup } from "../../src/core/model.js";
import { frameLines, renderCompactLines, renderTargetGroups } from "../../src/core/render.js";
import { buildTargetGroups } from "../../src/core/target-groups.js";
import { TargetSetBuilder } from "../../src/core/target-set.js";
import {
  AbortError,
  isTempNameOf,
  removeStaleTempFiles,
  WRITE_CHUNK_BYTES,
  writeFileAtomic,
} from "../../src/output/atomic-write.js";
import { tempDirs } from "../helpers/fixtures.js";
import { syntheticSnapshots } from "../helpers/synthetic-snapshots.js";
import { type Call, enospc, recordingFs } from "./recording-fs.js";

const dirs = tempDirs("cloudmap-sd-atomic-");
let dir: string;

beforeEach(async () => {
  dir = await dirs.make();
});

afterEach(async () => {
  await dirs.cleanup();
});

/** The recorded operations as "op what" lines, what being target, temp or dir. */
function steps(calls: readonly Call[], target: string): string[] {
  const name = (path: string) => (path === target ? "target" : path === dirname(target) ? "dir" : path.endsWith(".tmp") ? "temp" : path);
  return calls.map((call) => (call.to === undefined ? `${call.op} ${name(call.path)}` : `${call.op} ${name(call.path)}→${name(call.to)}`));
}

/** Everything in the directory except the target, i.e. what a failed or aborted write left behind. */
async function leftovers(target: string): Promise<string[]> {
  return (await readdir(dirname(target))).filter((name) => name !== basename(target));
}

describe("writeFileAtomic", () => {
  it("creates the file with the given content", async () => {
    const path = join(dir, "ecs-services.json");

    await writeFileAtomic(path, "[]\n");

    expect(await readFile(path, "utf8")).toBe("[]\n");
  });

  it("replaces the content of an existing file (a new inode: readers holding the old one are unaffected)", async () => {
    // Prepare
    const path = join(dir, "ecs-services.json");
    await writeFile(path, '[{"targets":["10.0.1.5:80"],"labels":{}}]\n');
    const before = await stat(path);

    // Act
    await writeFileAtomic(path, Buffer.from("[]\n"));

    // Assess
    expect(await readFile(path, "utf8")).toBe("[]\n");
    expect((await stat(path)).ino).not.toBe(before.ino);
  });

  it("leaves no temp file behind on success", async () => {
    const path = join(dir, "ecs-services.json");

    await writeFileAtomic(path, "[]\n");
    await writeFileAtomic(path, "[\n]\n");

    expect(await readdir(dir)).toEqual(["ecs-services.json"]);
  });

  it("writes through a temp file in the same directory whose name no file_sd glob matches", async () => {
    // Prepare
    const { fs, calls } = recordingFs();

    // Act
    await writeFileAtomic(join(dir, "ecs-services.json"), "[]\n", { fs });

    // Assess
    const renames = calls.filter((call) => call.op === "rename");
    expect(renames).toHaveLength(1);
    const { path: temp, to: target } = renames[0] as Call;
    expect(target).toBe(join(dir, "ecs-services.json"));
    expect(dirname(temp)).toBe(dir);
    // Prometheus' file SD reads only *.json, *.yml and *.yaml; a dot-prefixed name is also hidden.
    expect(basename(temp)).toMatch(/^\..*\.tmp$/);
    expect(basename(temp)).not.toMatch(/\.(json|ya?ml)$/);
  });

  it("uses a fresh temp name per write, so concurrent writes to one path do not collide", async () => {
    // Prepare
    const path = join(dir, "ecs-services.json");
    const documents = Array.from({ length: 8 }, (_, i) => `[{"targets":["10.0.1.${i}:80"],"labels":{}}]\n`);
    const { fs, calls } = recordingFs();

    // Act
    await Promise.all(documents.map((document) => writeFileAtomic(path, document, { fs })));

    // Assess
    const temps = calls.filter((call) => call.op === "rename").map((call) => call.path);
    expect(new Set(temps).size).toBe(documents.length);
    expect(documents).toContain(await readFile(path, "utf8"));
    expect(await readdir(dir)).toEqual(["ecs-services.json"]);
  });

  describe("on failure", () => {
    it("rejects and leaves nothing behind when the directory is a regular file (ENOTDIR)", async () => {
      // Prepare: root ignores permission bits, so a file in place of the directory forces the failure.
      const notADirectory = join(dir, "config");
      await writeFile(notADirectory, "I am a file");

      // Act
      const writing = writeFileAtomic(join(notADirectory, "ecs-services.json"), "[]\n");

      // Assess
      await expect(writing).rejects.toMatchObject({ code: "ENOTDIR" });
      expect(await readdir(dir)).toEqual(["config"]);
      expect(await readFile(notADirectory, "utf8")).toBe("I am a file");
    });

    it("rejects and creates nothing when the directory does not exist (ENOENT)", async () => {
      const writing = writeFileAtomic(join(dir, "missing", "ecs-services.json"), "[]\n");

      await expect(writing).rejects.toMatchObject({ code: "ENOENT" });
      expect(await readdir(dir)).toEqual([]);
    });

    it("removes its temp file when the rename fails after the content was written", async () => {
      // Prepare: a directory where the file should be makes rename() fail once the temp file exists.
      const path = join(dir, "ecs-services.json");
      await mkdir(path);
      const { fs, calls } = recordingFs();

      // Act
      const writing = writeFileAtomic(path, "[]\n", { fs });

      // Assess
      await expect(writing).rejects.toMatchObject({ code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST)$/) });
      expect(calls.filter((call) => call.op === "rename")).toHaveLength(1);
      expect(await readdir(dir)).toEqual(["ecs-services.json"]);
      expect((await stat(path)).isDirectory()).toBe(true);
    });
    it("rejects with the disk's error, removes its temp file and keeps the old file when a write fails (ENOSPC)", async () => {
      // Prepare
      const path = join(dir, "ecs-services.json");
      await writeFile(path, "[]\n");
      const before = await stat(path);
      const { fs, calls } = recordingFs((call) => {
        if (call.op === "write") throw enospc();
      });

      // Act
      const writing = writeFileAtomic(path, '[{"targets":["10.0.1.5:80"],"labels":{}}]\n', { fs });

      // Assess
      await expect(writing).rejects.toMatchObject({ code: "ENOSPC" });
      expect(steps(calls, path)).toEqual(["open temp", "write temp", "close temp", "rm temp"]);
      expect(await leftovers(path)).toEqual([]);
      expect(await readFile(path, "utf8")).toBe("[]\n");
      expect((await stat(path)).ino).toBe(before.ino);
    });

    it("rejects and removes its temp file when the fsync fails (a full or failing disk reports it there)", async () => {
      // Prepare
      const path = join(dir, "ecs-services.json");
      await writeFile(path, "[]\n");
      const { fs } = recordingFs((call) => {
        if (call.op === "sync" && call.path !== dir) throw Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" });
      });

      // Act
      const writing = writeFileAtomic(path, "[\n]\n", { fs });

      // Assess
      await expect(writing).rejects.toMatchObject({ code: "EIO" });
      expect(await leftovers(path)).toEqual([]);
      expect(await readFile(path, "utf8")).toBe("[]\n");
    });
  });

  describe("durability", () => {
    it("fsyncs the temp file before renaming it, then fsyncs the directory so the rename survives a crash", async () => {
      // Prepare
      const path = join(dir, "ecs-services.json");
      const { fs, calls } = recordingFs();

      // Act
      await writeFileAtomic(path, "[]\n", { fs });

      // Assess
      expect(steps(calls, path)).toEqual([
        "open temp",
        "write temp",
        "sync temp",
        "stat temp",
        "close temp",
        "rename temp→target",
        "open dir",
        "sync dir",
        "close dir",
      ]);
    });

    it("still succeeds where the directory cannot be fsynced (some filesystems refuse it)", async () => {
      // Prepare
      const path = join(dir, "ecs-services.json");
      const { fs, calls } = recordingFs((call) => {
        if (call.op === "sync" && call.path === dir) throw Object.assign(new Error("EINVAL: invalid argument, fsync"), { code: "EINVAL" });
      });

      // Act
      await writeFileAtomic(path, "[]\n", { fs });

      // Assess
      expect(await readFile(path, "utf8")).toBe("[]\n");
      expect(steps(calls, path).slice(-3)).toEqual(["open dir", "sync dir", "close dir"]);
    });

    it("resolves with the stat facts of the file now at the path", async () => {
      const path = join(dir, "ecs-services.json");

      const facts = await writeFileAtomic(path, "[]\n");

      const { dev, ino, size, mtimeMs } = await stat(path);
      expect(facts).toEqual({ dev, ino, size, mtimeMs });
    });
  });

  describe("large content", () => {
    it(`writes in chunks of at most ${WRITE_CHUNK_BYTES} bytes, byte-exact across multi-byte characters`, async () => {
      // Prepare: 2- and 4-byte UTF-8 characters (a surrogate pair in JS) straddle every chunk boundary.
      const path = join(dir, "ecs-services.json");
      const content = `${"é😀x".repeat(400_000)}\n`;
      const expected = Buffer.from(content, "utf8");
      const { fs, calls } = recordingFs();

      // Act
      await writeFileAtomic(path, content, { fs });

      // Assess
      expect((await readFile(path)).equals(expected)).toBe(true);
      const writes = calls.filter((call) => call.op === "write").length;
      expect(writes).toBeGreaterThanOrEqual(Math.ceil(expected.length / WRITE_CHUNK_BYTES));
      expect(writes).toBeLessThanOrEqual(Math.ceil(expected.length / WRITE_CHUNK_BYTES) + 1);
    });

    it("writes a Buffer in chunks too", async () => {
      const path = join(dir, "ecs-services.json");
      const content = Buffer.alloc(2 * WRITE_CHUNK_BYTES + 5, "a");
      const { fs, calls } = recordingFs();

      await writeFileAtomic(path, content, { fs });

      expect((await readFile(path)).equals(content)).toBe(true);
      expect(calls.filter((call) => call.op === "write")).toHaveLength(3);
    });

    it("writes chunks through full buffers, splitting a chunk larger than one, byte-exact", async () => {
      // Prepare: small chunks around one of 1.5 buffers, and empty ones.
      const path = join(dir, "ecs-services.json");
      const parts = [Buffer.from("[\n"), Buffer.alloc(0), Buffer.alloc(WRITE_CHUNK_BYTES * 1.5, "b"), Buffer.from(",\n"), Buffer.alloc(WRITE_CHUNK_BYTES, "c"), Buffer.from("\n]\n")];
      const { fs, calls } = recordingFs();

      // Act
      await writeFileAtomic(path, chunksFrom(parts), { fs });

      // Assess
      expect((await readFile(path)).equals(Buffer.concat(parts))).toBe(true);
      expect(calls.filter((call) => call.op === "write")).toHaveLength(3);
    });

    it("writes compact lines (a built target set) as exactly the canonical rendering", async () => {
      // Prepare: 1,000 instances, a fifth with a second endpoint: ~2 MB, so lines straddle the write buffers.
      const path = join(dir, "ecs-services.json");
      const snapshots = syntheticSnapshots({ namespaces: 2, servicesPerNamespace: 25, instancesPerService: 20 });
      const set = new TargetSetBuilder().build(snapshots);
      const { fs, calls } = recordingFs();

      // Act
      await writeFileAtomic(path, set.content, { fs });

      // Assess
      const expected = Buffer.from(renderTargetGroups(buildTargetGroups(snapshots).groups), "utf8");
      expect(expected.length).toBeGreaterThan(WRITE_CHUNK_BYTES);
      expect((await readFile(path)).equals(expected)).toBe(true);
      expect(calls.filter((call) => call.op === "write")).toHaveLength(Math.ceil(expected.length / WRITE_CHUNK_BYTES));
    });

    it("writes a compact line larger than the write buffer, its template's and its own literal bytes alike", async () => {
      // Prepare: the template has a 1.5-buffer label; the second line differs in it (a literal of
      // the same size) and copies the rest.
      const path = join(dir, "ecs-services.json");
      const groups: TargetGroup[] = [
        { targets: ["10.0.0.1:80"], labels: { big: `é${"a".repeat(WRITE_CHUNK_BYTES * 1.5)}`, job: "web" } },
        { targets: ["10.0.0.2:80"], labels: { big: `é${"b".repeat(WRITE_CHUNK_BYTES * 1.5)}😀`, job: "web" } },
      ];
      const content = frameLines(renderCompactLines(groups));
      const { fs, calls } = recordingFs();

      // Act
      await writeFileAtomic(path, content, { fs });

      // Assess
      const expected = Buffer.from(renderTargetGroups(groups), "utf8");
      expect((await readFile(path)).equals(expected)).toBe(true);
      expect(calls.filter((call) => call.op === "write")).toHaveLength(Math.ceil(expected.length / WRITE_CHUNK_BYTES));
    });

    it("writes an empty file for empty chunked content", async () => {
      const path = join(dir, "ecs-services.json");

      await writeFileAtomic(path, chunksFrom([]));

      expect(await readFile(path, "utf8")).toBe("");
    });

    it("writes an empty file for empty content", async () => {
      const path = join(dir, "ecs-services.json");

      await writeFileAtomic(path, "");

      expect(await readFile(path, "utf8")).toBe("");
    });
  });

  describe("abort (shutdown)", () => {
    it("stops between chunks: closes and removes the temp file, leaves the target untouched, rejects with AbortError", async () => {
      // Prepare
      const path = join(dir, "ecs-services.json");
      await writeFile(path, "[]\n");
      const before = await stat(path);
      const controller = new AbortController();
      const { fs, calls } = recordingFs((call) => {
        if (call.op === "write") controller.abort(new Error("SIGTERM"));
      });

      // Act
      const writing = writeFileAtomic(path, Buffer.alloc(3 * WRITE_CHUNK_BYTES, "a"), { fs, signal: controller.signal });

      // Assess
      await expect(writing).rejects.toBeInstanceOf(AbortError);
      await expect(writing).rejects.toMatchObject({ name: "AbortError", cause: expect.objectContaining({ message: "SIGTERM" }) });
      expect(steps(calls, path)).toEqual(["open temp", "write temp", "close temp", "rm temp"]);
      expect(await leftovers(path)).toEqual([]);
      expect(await readFile(path, "utf8")).toBe("[]\n");
      expect((await stat(path)).ino).toBe(before.ino);
    });

    it("does not rename when aborted after the last chunk (during the fsync)", async () => {
      // Prepare
      const path = join(dir, "ecs-services.json");
      await writeFile(path, "[]\n");
      const controller = new AbortController();
      const { fs, calls } = recordingFs((call) => {
        if (call.op === "sync") controller.abort();
      });

      // Act
      const writing = writeFileAtomic(path, "[\n]\n", { fs, signal: controller.signal });

      // Assess
      await expect(writing).rejects.toMatchObject({ name: "AbortError" });
      expect(calls.map((call) => call.op)).not.toContain("rename");
      expect(await leftovers(path)).toEqual([]);
      expect(await readFile(path, "utf8")).toBe("[]\n");
    });

    it("creates nothing when the signal is already aborted", async () => {
      const path = join(dir, "ecs-services.json");
      const { fs, calls } = recordingFs();

      await expect(writeFileAtomic(path, "[]\n", { fs, signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" });

      expect(calls).toEqual([]);
      expect(await readdir(dir)).toEqual([]);
    });

    it("resolves once renamed: an abort during the directory fsync does not undo a finished write", async () => {
      // Prepare
      const path = join(dir, "ecs-services.json");
      const controller = new AbortController();
      const { fs } = recordingFs((call) => {
        if (call.op === "open" && call.path === dir) controller.abort();
      });

      // Act
      await writeFileAtomic(path, "[]\n", { fs, signal: controller.signal });

      // Assess
      expect(controller.signal.aborted).toBe(true);
      expect(await readFile(path, "utf8")).toBe("[]\n");
    });
  });

  describe("removeStaleTempFiles", () => {
    it("removes the temp files a killed writer left for this file, and nothing else", async () => {
      // Prepare
      const path = join(dir, "ecs-services.json");
      const stale = [".ecs-services.json.1.0a1b2c3d.tmp", ".ecs-services.json.4242.ffffffff.tmp"];
      const others = [
        "ecs-services.json",
        ".prometheus.yaml.1.0a1b2c3d.tmp", // another published file's temp
        ".ecs-services.json.tmp", // not our shape
        ".ecs-services.json.1.0a1b2c3d.tmp.keep",
        ".ecs-services.json.x.0a1b2c3d.tmp",
        ".ecs-services.json.1.0A1B2C3D.tmp",
        ".other-ecs-services.json.1.0a1b2c3d.tmp",
        "notes.txt",
      ];
      for (const name of [...stale, ...others]) await writeFile(join(dir, name), "x");

      // Act
      const removed = await removeStaleTempFiles(path);

      // Assess
      expect(removed).toBe(2);
      expect((await readdir(dir)).sort()).toEqual([...others].sort());
    });

    it("recognises the temp names writeFileAtomic really uses", async () => {
      // Prepare
      const path = join(dir, "ecs-services.json");
      const { fs, calls } = recordingFs();

      // Act
      await writeFileAtomic(path, "[]\n", { fs });

      // Assess
      const temp = calls.find((call) => call.op === "open")?.path ?? "";
      expect(isTempNameOf(path, basename(temp))).toBe(true);
      expect(isTempNameOf(join(dir, "prometheus.yaml"), basename(temp))).toBe(false);
    });

    it("returns 0 when the directory does not exist yet", async () => {
      expect(await removeStaleTempFiles(join(dir, "missing", "ecs-services.json"))).toBe(0);
    });

    it("rejects when the directory cannot be listed (not a directory)", async () => {
      await writeFile(join(dir, "config"), "a file");

      await expect(removeStaleTempFiles(join(dir, "config", "ecs-services.json"))).rejects.toMatchObject({ code: "ENOTDIR" });
    });
  });

  describe("with a concurrent reader", () => {
    // The reader runs in its own process, so its reads truly interleave with our writes. It opens
    // the file afresh each time, as Prometheus does when its watcher fires.
    const READS = 2_000;
    const READER = `
      const { readFileSync } = require("node:fs");
      const [path, refA, refB, reads] = process.argv.slice(1);
      const a = readFileSync(refA), b = readFileSync(refB);
      const result = { reads: 0, sawA: 0, sawB: 0, bad: [] };
      for (let i = 0; i < Number(reads); i++) {
        const bytes = readFileSync(path);
        result.reads++;
        try {
          const doc = JSON.parse(bytes.toString("utf8"));
          if (bytes.equals(a) && doc.doc === "A") result.sawA++;
          else if (bytes.equals(b) && doc.doc === "B") result.sawB++;
          else result.bad.push("valid JSON but neither document, " + bytes.length + " bytes");
        } catch (error) {
          result.bad.push(String(error).slice(0, 120) + " at " + bytes.length + " bytes");
        }
        if (result.bad.length >= 5) break;
      }
      process.stdout.write(JSON.stringify(result));
    `;

    function document(name: string, digit: string): string {
      // ~2 MB of long strings: big enough that a non-atomic write is visible half-done.
      return `${JSON.stringify({ doc: name, chunks: Array.from({ length: 2048 }, () => digit.repeat(1000)) })}\n`;
    }

    it("never sees partial JSON: every read parses and equals one of the two documents", { timeout: 120_000 }, async () => {
      // Prepare
      const path = join(dir, "ecs-services.json");
      const a = document("A", "1");
      const b = document("B", "2");
      const refDir = await dirs.make();
      await writeFile(join(refDir, "a.ref"), a);
      await writeFile(join(refDir, "b.ref"), b);
      await writeFileAtomic(path, a);

      const reader = spawn(process.execPath, ["-e", READER, path, join(refDir, "a.ref"), join(refDir, "b.ref"), String(READS)], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let output = "";
      reader.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString("utf8");
      });
      const exited = new Promise<number | null>((resolve) => reader.on("exit", (code) => resolve(code)));
      let running = true;
      void exited.then(() => {
        running = false;
      });

      // Act: alternate the two documents until the reader is done.
      let writes = 0;
      while (running) {
        await writeFileAtomic(path, writes % 2 === 0 ? b : a);
        writes++;
      }
      const code = await exited;

      // Assess
      expect(code).toBe(0);
      const result = JSON.parse(output) as { reads: number; sawA: number; sawB: number; bad: string[] };
      expect(result.bad).toEqual([]);
      expect(result.reads).toBe(READS);
      // Both documents were seen, so the file really changed under the reader.
      expect(result.sawA).toBeGreaterThan(0);
      expect(result.sawB).toBeGreaterThan(0);
      expect(writes).toBeGreaterThan(1);
      expect((await readdir(dir)).filter((name) => name !== "ecs-services.json")).toEqual([]);
    });
  });
});
