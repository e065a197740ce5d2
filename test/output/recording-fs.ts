// A FileSystem over the real node:fs/promises that records every operation, in order, and lets a
// test act before one runs (fail it with ENOSPC, abort a signal, delete a file). Used by the
// atomic-write and published-file tests; the temp dirs stay real, so leftovers are visible.
import * as nodeFs from "node:fs/promises";
import type { FileHandleLike, FileSystem } from "../../src/output/atomic-write.js";

export type Operation = "open" | "write" | "sync" | "stat" | "readFile" | "close" | "rename" | "rm" | "readdir";

export interface Call {
  readonly op: Operation;
  /** The path operated on; for handle operations, the path the handle was opened on. */
  readonly path: string;
  /** rename's destination. */
  readonly to?: string;
}

/** Runs before the operation; throwing fails it (nothing is done on disk). */
export type BeforeHook = (call: Call) => void | Promise<void>;

export function recordingFs(before: BeforeHook = () => {}): { fs: FileSystem; calls: Call[] } {
  const calls: Call[] = [];
  const record = async (call: Call) => {
    calls.push(call);
    await before(call);
  };
  const handleOf = (path: string, handle: nodeFs.FileHandle): FileHandleLike => ({
    write: async (buffer, offset, length) => {
      await record({ op: "write", path });
      return handle.write(buffer, offset, length);
    },
    sync: async () => {
      await record({ op: "sync", path });
      await handle.sync();
    },
    stat: async () => {
      await record({ op: "stat", path });
      return handle.stat();
    },
    readFile: async () => {
      await record({ op: "readFile", path });
      return handle.readFile();
    },
    close: async () => {
      await record({ op: "close", path });
      await handle.close();
    },
  });
  const fs: FileSystem = {
    open: async (path, flags, mode) => {
      await record({ op: "open", path });
      return handleOf(path, await nodeFs.open(path, flags, mode));
    },
    rename: async (from, to) => {
      await record({ op: "rename", path: from, to });
      await nodeFs.rename(from, to);
    },
    rm: async (path, options) => {
      await record({ op: "rm", path });
      await nodeFs.rm(path, options);
    },
    stat: async (path) => {
      await record({ op: "stat", path });
      return nodeFs.stat(path);
    },
    readdir: async (path) => {
      await record({ op: "readdir", path });
      return nodeFs.readdir(path);
    },
  };
  return { fs, calls };
}

/** An error as node raises it for a full disk. */
export function enospc(syscall = "write"): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOSPC: no space left on device, ${syscall}`), { code: "ENOSPC", errno: -28, syscall });
}
