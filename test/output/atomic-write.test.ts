import { spawn } from "node:child_process";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { writeFileAtomic } from "../../src/output/atomic-write.js";
import { tempDirs } from "../helpers/fixtures.js";

// Pass-through spy, so a test can see the temp file's name as it is renamed into place.
vi.mock("node:fs/promises", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs/promises")>();
  return { ...actual, rename: vi.fn(actual.rename) };
});
const { rename } = await import("node:fs/promises");
const renameSpy = vi.mocked(rename);

const dirs = tempDirs("cloudmap-sd-atomic-");
let dir: string;

beforeEach(async () => {
  dir = await dirs.make();
  renameSpy.mockClear();
});

afterEach(async () => {
  await dirs.cleanup();
});

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
    // Act
    await writeFileAtomic(join(dir, "ecs-services.json"), "[]\n");

    // Assess
    expect(renameSpy).toHaveBeenCalledTimes(1);
    const [temp, target] = renameSpy.mock.calls[0] as [string, string];
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

    // Act
    await Promise.all(documents.map((document) => writeFileAtomic(path, document)));

    // Assess
    const temps = renameSpy.mock.calls.map(([temp]) => temp);
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

      // Act
      const writing = writeFileAtomic(path, "[]\n");

      // Assess
      await expect(writing).rejects.toMatchObject({ code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST)$/) });
      expect(renameSpy).toHaveBeenCalledTimes(1);
      expect(await readdir(dir)).toEqual(["ecs-services.json"]);
      expect((await stat(path)).isDirectory()).toBe(true);
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
