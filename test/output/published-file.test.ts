import { access, mkdir, readFile, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TargetsWriteError } from "../../src/errors.js";
import { PublishedFile } from "../../src/output/published-file.js";
import { tempDirs } from "../helpers/fixtures.js";

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
      expect(file.content).toBe(OLD);
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
      const file = new PublishedFile(path);
      await file.open();
      const before = await mark(path);

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
      // Prepare
      const file = new PublishedFile(path);
      await file.open("[]\n");
      await file.publish(NEW, { complete: true });
      const before = await mark(path);

      // Act
      const outcomes = [await file.publish(NEW, { complete: true }), await file.publish(NEW, { complete: false })];

      // Assess
      expect(outcomes).toEqual(["unchanged", "unchanged"]);
      expect(await identity(path)).toEqual(before);
      expect(before.mtimeMs).toBe(SENTINEL.getTime());
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
});
