import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Replaces `path` so that a reader sees either the old or the new content, never a mix: write a
 * temp file in the same directory (same filesystem, so rename is atomic), fsync it, rename it
 * over the target, fsync the directory. The temp name starts with a dot and ends in `.tmp`, so a
 * `*.json` file_sd glob never matches it. Renaming onto a bind-mounted single file fails (EBUSY):
 * mount the directory.
 */
export async function writeFileAtomic(path: string, content: string | Buffer): Promise<void> {
  const directory = dirname(path);
  const temp = join(directory, `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  let renamed = false;
  try {
    const handle = await open(temp, "wx", 0o644);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    renamed = true;
    await syncDirectory(directory);
  } finally {
    if (!renamed) await rm(temp, { force: true });
  }
}

async function syncDirectory(directory: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(directory, "r");
    await handle.sync();
  } catch {
    // Some filesystems (and Windows) cannot fsync a directory; the rename itself is still atomic.
  } finally {
    await handle?.close();
  }
}
