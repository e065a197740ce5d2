import type { FileFacts, FileHandleLike, FileSystem } from "../output/atomic-write.js";

/**
 * A FileSystem that stores nothing: for the dry runs (explain, once --print), which run the real
 * cycle, publish included, but must not touch CONFIG_FILE_DIR. PublishedFile keeps the content it
 * published in memory, which is what `once --print` prints. Nothing exists until written, and a
 * renamed file reports the facts of what was written, so a publish never sees it "replaced".
 */
export function discardingFileSystem(): FileSystem {
  const files = new Map<string, FileFacts>();
  let inode = 0;
  const notFound = (path: string) => Object.assign(new Error(`ENOENT: no such file (dry run): ${path}`), { code: "ENOENT" });
  return {
    async open(path: string, flags: string): Promise<FileHandleLike> {
      if (!flags.startsWith("w")) throw notFound(path);
      const facts = { dev: 0, ino: ++inode, size: 0, mtimeMs: inode };
      let size = 0;
      const handle: FileHandleLike = {
        write: async (_buffer, _offset, length) => {
          size += length;
          return { bytesWritten: length };
        },
        sync: async () => {},
        stat: async () => ({ ...facts, size }),
        readFile: async () => Buffer.alloc(0),
        close: async () => {
          files.set(path, { ...facts, size });
        },
      };
      return handle;
    },
    async rename(from: string, to: string): Promise<void> {
      const facts = files.get(from);
      if (!facts) throw notFound(from);
      files.delete(from);
      files.set(to, facts);
    },
    async rm(path: string): Promise<void> {
      files.delete(path);
    },
    async stat(path: string): Promise<FileFacts> {
      const facts = files.get(path);
      if (!facts) throw notFound(path);
      return facts;
    },
    async readdir(): Promise<string[]> {
      return [];
    },
  };
}
