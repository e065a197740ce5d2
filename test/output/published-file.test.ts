import { access, mkdir, readFile, readdir, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TargetsWriteError } from "../../src/errors.js";
import { type Chunks, chunksFrom, textOf } from "../../src/core/file-content.js";
import { AbortError, WRITE_CHUNK_BYTES } from "../../src/output/atomic-write.js";
import { PublishedFile, type RestoreEvent } from "../../src/output/published-file.js";
import { tempDirs } from "../helpers/fixtures.js";
import { enospc, recordingFs } from "./recording-fs.js";

const OLD = '[\n{"targets":["10.0.1.5:8080"],"labels":{"namespace":"prod.local"}}\n]\n';
const NEW = '[\n{"targets":["10.0.1.6:8080"],"labels":{"namespace":"prod.local"}}\n]\n';
// A date no write by the code under test can produce, so "mtime unchanged" does not depend on timing.
const SENTINEL = new Date("2001-02-03T04:05:06Z");

const dirs = tempDirs("cloudmap-sd-published-");
let path: string;

beforeEach(async () => {
  path = join(await dirs.make(), "ecs-services.json");
});

afterEach(async () => {
  await dirs.cleanup();
});

/** Marks the file so that any rewrite (which renames a new inode into place) is visible. */
async function mark(file: string): Promise<{ ino: number; mtimeMs: number }> {
  await utimes(file, SENTINEL, SENTINEL);
  const { ino, mtimeMs } = await stat(file);
  return { ino, mtimeMs };
}

async function identity(file: string): Promise<{ ino: number; mtimeMs: number }> {
  const { ino, mtimeMs } = await stat(file);
  return { ino, mtimeMs };
}

describe("PublishedFile", () => {
  describe("open", () => {
    it("creates the file with the initial content when it is absent", async () => {
      // Prepare
      const file = new PublishedFile(path);

      // Act
      const state = await file.open("[]\n");

      // Assess
      expect(state).toBe("created");
      expect(await readFile(path, "utf8")).toBe("[]\n");
      expect(file.content).toBe("[]\n");
    });

    it("creates nothing when it is absent and no initial content is given", async () => {
      const file = new PublishedFile(path);

      expect(await file.open()).toBe("absent");
      expect(file.content).toBeUndefined();
      await expect(access(path)).rejects.toMatchObject({ code: "ENOENT" });
    });

    it("leaves an existing file alone and serves its content", async () => {
      // Prepare
      await writeFile(path, OLD);
      const before = await mark(path);
      const file = new PublishedFile(path);

      // Act
      const state = await file.open("[]\n");

      // Assess
      expect(state).toBe("existing");
      expect(Buffer.isBuffer(file.content)).toBe(true);
      expect(textOf(file.content as Buffer)).toBe(OLD);
      expect(await readFile(path, "utf8")).toBe(OLD);
      expect(await identity(path)).toEqual(before);
    });

    it("throws TargetsWriteError with the path when the file cannot be read", async () => {
      // Prepare: a regular file in place of the directory (root ignores permission bits).
      const parent = join(path, "..", "config");
      await writeFile(parent, "not a directory");
      const unreadable = join(parent, "ecs-services.json");

      // Act
      const opening = new PublishedFile(unreadable).open("[]\n");

      // Assess
      await expect(opening).rejects.toBeInstanceOf(TargetsWriteError);
      await expect(opening).rejects.toMatchObject({ path: unreadable, cause: expect.objectContaining({ code: "ENOTDIR" }) });
    });
  });

  describe("publish", () => {
    it("holds an existing file while publishes are incomplete, and replaces it on the first complete one", async () => {
      // Prepare: a restart during an AWS outage finds the previous targets on disk.
      await writeFile(path, OLD);
      const before = await mark(path);
      const file = new PublishedFile(path);
      await file.open("[]\n");

      // Act
      const partial = await file.publish(NEW, { complete: false });
      const afterPartial = { content: await readFile(path, "utf8"), identity: await identity(path) };
      const complete = await file.publish(NEW, { complete: true });

      // Assess
      expect(partial).toBe("held");
      expect(afterPartial).toEqual({ content: OLD, identity: before });
      expect(complete).toBe("written");
      expect(await readFile(path, "utf8")).toBe(NEW);
      expect(file.content).toBe(NEW);
    });

    it("publishes incomplete content once a complete publish has released the hold", async () => {
      // Prepare
      await writeFile(path, OLD);
      const file = new PublishedFile(path);
      await file.open();
      await file.publish(NEW, { complete: true });

      // Act
      const outcome = await file.publish(OLD, { complete: false });

      // Assess
      expect(outcome).toBe("written");
      expect(await readFile(path, "utf8")).toBe(OLD);
    });

    it("releases the hold without rewriting when the first complete content equals the file", async () => {
      // Prepare
      await writeFile(path, OLD);
      const before = await mark(path);
      const file = new PublishedFile(path);
      await file.open();

      // Act
      const outcome = await file.publish(OLD, { complete: true });
      const afterUnchanged = await identity(path);
      const next = await file.publish(NEW, { complete: false });

      // Assess
      expect(outcome).toBe("unchanged");
      expect(afterUnchanged).toEqual(before);
      expect(next).toBe("written");
    });

    it("does not hold a file it created itself: partial results replace the empty list", async () => {
      const file = new PublishedFile(path);
      await file.open("[]\n");

      expect(await file.publish(NEW, { complete: false })).toBe("written");
      expect(await readFile(path, "utf8")).toBe(NEW);
    });

    it("does not rewrite unchanged content (same inode, sentinel mtime kept)", async () => {
      // Prepare: the sentinel is set before open(), since a changed mtime counts as a replaced file.
      await writeFile(path, NEW);
      const before = await mark(path);
      const file = new PublishedFile(path);
      await file.open("[]\n");

      // Act
      const outcomes = [await file.publish(NEW, { complete: true }), await file.publish(NEW, { complete: false })];

      // Assess
      expect(outcomes).toEqual(["unchanged", "unchanged"]);
      expect(await identity(path)).toEqual(before);
      expect(before.mtimeMs).toBe(SENTINEL.getTime());
    });

    it("does not rewrite unchanged content it wrote itself, and only stats the file to know (never reads it)", async () => {
      // Prepare
      const { fs, calls } = recordingFs();
      const file = new PublishedFile(path, { fs });
      await file.open("[]\n");
      await file.publish(NEW, { complete: true });
      const before = await identity(path);
      calls.length = 0;

      // Act
      const outcome = await file.publish(NEW, { complete: true });

      // Assess
      expect(outcome).toBe("unchanged");
      expect(calls).toEqual([{ op: "stat", path }]);
      expect(await identity(path)).toEqual(before);
    });

    it("rewrites changed content (the sentinel shows the file was replaced)", async () => {
      // Prepare: the counterpart of the test above, so its sentinel check can fail.
      const file = new PublishedFile(path);
      await file.open("[]\n");
      const before = await mark(path);

      // Act
      await file.publish(NEW, { complete: true });

      // Assess
      const after = await identity(path);
      expect(after.ino).not.toBe(before.ino);
      expect(after.mtimeMs).not.toBe(SENTINEL.getTime());
    });

    it("throws TargetsWriteError with the path and keeps its last content when the write fails", async () => {
      // Prepare: open() wrote the file; then the path becomes unwritable (a directory in its place).
      const file = new PublishedFile(path);
      await file.open("[]\n");
      await rm(path);
      await mkdir(path);

      // Act
      const publishing = file.publish(NEW, { complete: true });

      // Assess
      await expect(publishing).rejects.toBeInstanceOf(TargetsWriteError);
      await expect(publishing).rejects.toMatchObject({ name: "TargetsWriteError", path, message: expect.stringContaining(path) });
      expect(file.content).toBe("[]\n");
      expect(await readdir(join(path, ".."))).toEqual(["ecs-services.json"]);
    });

    it("throws TargetsWriteError when the directory is missing", async () => {
      const missing = join(path, "..", "missing", "ecs-services.json");

      await expect(new PublishedFile(missing).publish(NEW, { complete: true })).rejects.toMatchObject({
        name: "TargetsWriteError",
        path: missing,
        cause: expect.objectContaining({ code: "ENOENT" }),
      });
    });
  });

  describe("open: stale temp files", () => {
    it("removes the temp files a killed write left for this file, keeps everything else, and says how many", async () => {
      // Prepare
      const directory = join(path, "..");
      await writeFile(path, OLD);
      const stale = [".ecs-services.json.1.0a1b2c3d.tmp", ".ecs-services.json.77.deadbeef.tmp"];
      const others = [".prometheus.yaml.1.0a1b2c3d.tmp", "other.json", ".ecs-services.json.swp"];
      for (const name of [...stale, ...others]) await writeFile(join(directory, name), "partial");
      const file = new PublishedFile(path);

      // Act
      const state = await file.open("[]\n");

      // Assess
      expect(state).toBe("existing");
      expect(file.staleTempFilesRemoved).toBe(2);
      expect((await readdir(directory)).sort()).toEqual(["ecs-services.json", ...others].sort());
      expect(await readFile(path, "utf8")).toBe(OLD);
    });

    it("reports 0 when there is nothing to remove", async () => {
      const file = new PublishedFile(path);

      await file.open("[]\n");

      expect(file.staleTempFilesRemoved).toBe(0);
    });
  });

  describe("publish: the file on disk is checked, not only memory", () => {
    async function published(onRestore?: (event: RestoreEvent) => void): Promise<PublishedFile> {
      const file = new PublishedFile(path, onRestore ? { onRestore } : {});
      await file.open("[]\n");
      await file.publish(NEW, { complete: true });
      return file;
    }

    it("restores a deleted file while the targets stay the same (file_sd would drop every target)", async () => {
      // Prepare
      const events: RestoreEvent[] = [];
      const file = await published((event) => events.push(event));
      await rm(path);

      // Act
      const outcome = await file.publish(NEW, { complete: true });
      const next = await file.publish(NEW, { complete: true });

      // Assess
      expect(outcome).toBe("restored");
      expect(await readFile(path, "utf8")).toBe(NEW);
      expect(events).toEqual([{ path, reason: "missing", held: false }]);
      expect(next).toBe("unchanged");
    });

    it("restores a file overwritten in place with other content", async () => {
      // Prepare: same inode; the sentinel mtime stands for "written at another time" without sleeping.
      const events: RestoreEvent[] = [];
      const file = await published((event) => events.push(event));
      await writeFile(path, "[]\n");
      await utimes(path, SENTINEL, SENTINEL);

      // Act
      const outcome = await file.publish(NEW, { complete: false });

      // Assess
      expect(outcome).toBe("restored");
      expect(await readFile(path, "utf8")).toBe(NEW);
      expect(events).toEqual([{ path, reason: "replaced", held: false }]);
    });

    it("restores a file overwritten in place with content of the same size (only the mtime tells)", async () => {
      // Prepare
      const file = await published();
      await writeFile(path, NEW.replace("10.0.1.6", "10.0.1.9"));
      await utimes(path, SENTINEL, SENTINEL);

      // Act
      const outcome = await file.publish(NEW, { complete: true });

      // Assess
      expect(outcome).toBe("restored");
      expect(await readFile(path, "utf8")).toBe(NEW);
    });

    it("rewrites a file replaced by another inode even with identical bytes (harmless, and cheaper than reading it)", async () => {
      // Prepare
      const file = await published();
      const elsewhere = join(path, "..", "copy.json");
      await writeFile(elsewhere, NEW);
      await rename(elsewhere, path);

      // Act
      const outcome = await file.publish(NEW, { complete: true });

      // Assess
      expect(outcome).toBe("restored");
      expect(await readFile(path, "utf8")).toBe(NEW);
      expect(await file.publish(NEW, { complete: true })).toBe("unchanged");
    });

    it("restores the held content when the existing file is deleted before the first complete discovery", async () => {
      // Prepare
      await writeFile(path, OLD);
      const events: RestoreEvent[] = [];
      const file = new PublishedFile(path, { onRestore: (event) => events.push(event) });
      await file.open("[]\n");
      await rm(path);

      // Act
      const outcome = await file.publish(NEW, { complete: false });
      const stillHeld = await file.publish(NEW, { complete: false });

      // Assess
      expect(outcome).toBe("held");
      expect(events).toEqual([{ path, reason: "missing", held: true }]);
      expect(stillHeld).toBe("held");
      expect(await readFile(path, "utf8")).toBe(OLD);
      expect(textOf(file.content as Buffer)).toBe(OLD);
      expect(await file.publish(NEW, { complete: true })).toBe("written");
    });

    it("leaves a held file untouched while it is intact", async () => {
      // Prepare
      await writeFile(path, OLD);
      const before = await mark(path);
      const events: RestoreEvent[] = [];
      const file = new PublishedFile(path, { onRestore: (event) => events.push(event) });
      await file.open("[]\n");

      // Act
      const outcomes = [await file.publish(NEW, { complete: false }), await file.publish(NEW, { complete: false })];

      // Assess
      expect(outcomes).toEqual(["held", "held"]);
      expect(await identity(path)).toEqual(before);
      expect(events).toEqual([]);
    });

    it("throws TargetsWriteError when the file cannot be checked (not absent: unreachable)", async () => {
      // Prepare
      const { fs } = recordingFs((call) => {
        if (call.op === "stat" && call.path === path) throw Object.assign(new Error("EACCES: permission denied, stat"), { code: "EACCES" });
      });
      const file = new PublishedFile(path, { fs });
      await file.open("[]\n");

      // Act
      const publishing = file.publish("[]\n", { complete: true });

      // Assess
      await expect(publishing).rejects.toMatchObject({ name: "TargetsWriteError", path, cause: expect.objectContaining({ code: "EACCES" }) });
    });
  });

  describe("publish: a failed write", () => {
    it("throws TargetsWriteError on ENOSPC, leaves no temp file, keeps the old file and content, and retries next time", async () => {
      // Prepare
      let full = true;
      const { fs } = recordingFs((call) => {
        if (full && call.op === "write") throw enospc();
      });
      const file = new PublishedFile(path, { fs });
      full = false;
      await file.open("[]\n");
      const before = await identity(path);
      full = true;

      // Act
      const failed = file.publish(NEW, { complete: true });
      await expect(failed).rejects.toBeInstanceOf(TargetsWriteError);
      const afterFailure = { content: file.content, disk: await readFile(path, "utf8"), identity: await identity(path), dir: await readdir(join(path, "..")) };
      full = false;
      const retried = await file.publish(NEW, { complete: true });

      // Assess
      await expect(failed).rejects.toMatchObject({ path, cause: expect.objectContaining({ code: "ENOSPC" }) });
      expect(afterFailure).toEqual({ content: "[]\n", disk: "[]\n", identity: before, dir: ["ecs-services.json"] });
      expect(retried).toBe("written");
      expect(await readFile(path, "utf8")).toBe(NEW);
      expect(file.content).toBe(NEW);
    });

    it("retries a restore that failed", async () => {
      // Prepare
      let full = false;
      const { fs } = recordingFs((call) => {
        if (full && call.op === "write") throw enospc();
      });
      const file = new PublishedFile(path, { fs });
      await file.open(NEW);
      await rm(path);
      full = true;

      // Act
      const failed = file.publish(NEW, { complete: true });
      await expect(failed).rejects.toBeInstanceOf(TargetsWriteError);
      full = false;
      const retried = await file.publish(NEW, { complete: true });

      // Assess
      expect(retried).toBe("restored");
      expect(await readFile(path, "utf8")).toBe(NEW);
    });
  });

  describe("publish: abort (shutdown)", () => {
    it("rejects with AbortError (not a write failure) and keeps content and the recorded file unchanged", async () => {
      // Prepare: abort after the first chunk of a large document.
      const controller = new AbortController();
      let abortOnWrite = false;
      const { fs, calls } = recordingFs((call) => {
        if (call.op === "write" && abortOnWrite) controller.abort();
      });
      const file = new PublishedFile(path, { fs });
      await file.open("[]\n");
      const before = await identity(path);
      const large = `[${'{"targets":["10.0.1.5:8080"],"labels":{}},'.repeat(Math.ceil((2 * WRITE_CHUNK_BYTES) / 40))}{"targets":[],"labels":{}}]\n`;
      abortOnWrite = true;
      calls.length = 0;

      // Act
      const aborted = file.publish(large, { complete: true, signal: controller.signal });
      await expect(aborted).rejects.toBeInstanceOf(AbortError);
      abortOnWrite = false;
      const writesBeforeAbort = calls.filter((call) => call.op === "write").length;
      const afterAbort = { content: file.content, disk: await readFile(path, "utf8"), identity: await identity(path), dir: await readdir(join(path, "..")) };
      const same = await file.publish("[]\n", { complete: true });

      // Assess
      expect(writesBeforeAbort).toBe(1);
      expect(afterAbort).toEqual({ content: "[]\n", disk: "[]\n", identity: before, dir: ["ecs-services.json"] });
      // The recorded facts still match the file on disk, so nothing is rewritten.
      expect(same).toBe("unchanged");
      expect(await file.publish(large, { complete: true })).toBe("written");
    });

    it("returns without writing when nothing needs writing, even with an aborted signal", async () => {
      const file = new PublishedFile(path);
      await file.open("[]\n");

      expect(await file.publish("[]\n", { complete: true, signal: AbortSignal.abort() })).toBe("unchanged");
    });
  });

  describe("publish: overlapping calls and content types", () => {
    it("queues overlapping publishes so the last one wins on disk and in memory", async () => {
      // Prepare
      const file = new PublishedFile(path);
      await file.open("[]\n");

      // Act
      const outcomes = await Promise.all([file.publish(OLD, { complete: true }), file.publish(NEW, { complete: true })]);

      // Assess
      expect(outcomes).toEqual(["written", "written"]);
      expect(await readFile(path, "utf8")).toBe(NEW);
      expect(file.content).toBe(NEW);
      expect(await file.publish(NEW, { complete: true })).toBe("unchanged");
    });

    it("publishes Buffers: compared by bytes, the existing file read as bytes", async () => {
      // Prepare
      await writeFile(path, OLD);
      const file = new PublishedFile(path);
      await file.open();

      // Act
      const same = await file.publish(Buffer.from(OLD), { complete: true });
      const changed = await file.publish(Buffer.from(NEW), { complete: true });

      // Assess
      expect(same).toBe("unchanged");
      expect(changed).toBe("written");
      expect(await readFile(path, "utf8")).toBe(NEW);
      expect(Buffer.isBuffer(file.content)).toBe(true);
    });
  });

  describe("publish: chunked content (the targets file)", () => {
    /** `text` cut into chunks of `size` bytes, each a fresh copy (no chunk shared with another call). */
    function chunked(text: string, size: number): Chunks {
      const bytes = Buffer.from(text, "utf8");
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += size) chunks.push(Buffer.from(bytes.subarray(at, at + size)));
      return chunksFrom(chunks);
    }

    it("writes the chunks' bytes, and the same bytes cut differently are unchanged (no write)", async () => {
      // Prepare
      const { fs, calls } = recordingFs();
      const file = new PublishedFile(path, { fs });
      await file.open("[]\n");

      // Act
      const written = await file.publish(chunked(NEW, 7), { complete: true });
      calls.length = 0;
      const recut = chunked(NEW, 5);
      const same = await file.publish(recut, { complete: true });
      const asText = await file.publish(NEW, { complete: true });

      // Assess
      expect(written).toBe("written");
      expect(await readFile(path, "utf8")).toBe(NEW);
      expect([same, asText]).toEqual(["unchanged", "unchanged"]);
      expect(calls.map((call) => call.op)).toEqual(["stat", "stat"]);
    });

    it("keeps the newest of equal contents, so the next unchanged publish compares identities only", async () => {
      // Prepare: the file read at open is held as bytes until a complete publish equals it.
      await writeFile(path, NEW);
      const file = new PublishedFile(path);
      await file.open();
      const built = chunked(NEW, 3);

      // Act
      const outcome = await file.publish(built, { complete: true });

      // Assess
      expect(outcome).toBe("unchanged");
      expect(file.content).toBe(built);
    });

    it("restores deleted chunked content with the same bytes", async () => {
      // Prepare
      const events: RestoreEvent[] = [];
      const file = new PublishedFile(path, { onRestore: (event) => events.push(event) });
      await file.open("[]\n");
      const content = chunked(NEW, 4);
      await file.publish(content, { complete: true });
      await rm(path);

      // Act
      const outcome = await file.publish(content, { complete: true });

      // Assess
      expect(outcome).toBe("restored");
      expect(events).toEqual([{ path, reason: "missing", held: false }]);
      expect(await readFile(path, "utf8")).toBe(NEW);
    });

    it("writes many small chunks in a few full writes, and an abort between them leaves the file as it was", async () => {
      // Prepare: ~2.5 write buffers of 40-byte chunks (rendered lines); abort at the second write.
      const controller = new AbortController();
      let writes = 0;
      const { fs } = recordingFs((call) => {
        if (call.op === "write" && ++writes === 2) controller.abort();
      });
      const file = new PublishedFile(path, { fs });
      await file.open("[]\n");
      const line = '{"targets":["10.0.1.5:8080"],"labels":{}}';
      const lines = Array.from({ length: Math.ceil((2.5 * WRITE_CHUNK_BYTES) / (line.length + 2)) }, () => line);
      const text = `[\n${lines.join(",\n")}\n]\n`;
      const content = chunked(text, line.length + 2);
      writes = 0;

      // Act
      const aborted = file.publish(content, { complete: true, signal: controller.signal });
      await expect(aborted).rejects.toBeInstanceOf(AbortError);
      const afterAbort = { content: file.content, disk: await readFile(path, "utf8"), dir: await readdir(join(path, "..")) };
      writes = -1_000;
      const written = await file.publish(content, { complete: true });

      // Assess
      expect(afterAbort).toEqual({ content: "[]\n", disk: "[]\n", dir: ["ecs-services.json"] });
      expect(written).toBe("written");
      expect(writes).toBe(-1_000 + 3);
      expect(await readFile(path, "utf8")).toBe(text);
    });
  });
});
