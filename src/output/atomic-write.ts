import { randomBytes } from "node:crypto";
import * as nodeFs from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { type FileContent, isChunks, packedPieces } from "../core/file-content.js";

/** The facts of a file that change when it is replaced or rewritten; compared by stat only (no read). */
export interface FileFacts {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

/** The part of a file handle the writer and PublishedFile use (node's FileHandle fits). */
export interface FileHandleLike {
  write(buffer: Uint8Array, offset: number, length: number): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  stat(): Promise<FileFacts>;
  readFile(): Promise<Buffer>;
  close(): Promise<void>;
}

/**
 * The file operations of this folder. node:fs/promises by default; tests inject one that records
 * the order of operations (so a removed fsync turns a test red) or fails on purpose (ENOSPC).
 */
export interface FileSystem {
  open(path: string, flags: string, mode?: number): Promise<FileHandleLike>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options: { force: boolean }): Promise<void>;
  stat(path: string): Promise<FileFacts>;
  readdir(path: string): Promise<string[]>;
}

export const nodeFileSystem: FileSystem = nodeFs;

/** Bytes written per write(2); the abort signal is checked between chunks. */
export const WRITE_CHUNK_BYTES = 1024 * 1024;

/** A write stopped by its AbortSignal (shutdown): the target is untouched and no temp file is left. */
export class AbortError extends Error {
  override readonly name = "AbortError";
  readonly code = "ABORT_ERR";
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === "AbortError";
}

export interface WriteOptions {
  readonly signal?: AbortSignal;
  readonly fs?: FileSystem;
}

/**
 * Replaces `path` so that a reader sees either the old or the new content, never a mix: write a
 * temp file in the same directory (same filesystem, so rename is atomic), fsync it, rename it
 * over the target, fsync the directory. The temp name starts with a dot and ends in `.tmp`, so a
 * `*.json` file_sd glob never matches it. Renaming onto a bind-mounted single file fails (EBUSY):
 * mount the directory.
 *
 * An abort before the rename rejects with AbortError and leaves the target as it was; once renamed,
 * the write is done and resolves. Resolves with the facts of the file now at `path`, taken from the
 * temp file's handle (not by path, so a replacement right after the rename is not mistaken for ours;
 * and without ctime, which the rename itself changes).
 */
export async function writeFileAtomic(path: string, content: FileContent, options: WriteOptions = {}): Promise<FileFacts> {
  const { signal, fs = nodeFileSystem } = options;
  throwIfAborted(path, signal);
  const directory = dirname(path);
  const temp = join(directory, `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  let renamed = false;
  try {
    const handle = await fs.open(temp, "wx", 0o644);
    let facts: FileFacts;
    try {
      for (const chunk of chunksOf(content)) {
        throwIfAborted(path, signal);
        await writeFully(handle, chunk);
      }
      await handle.sync();
      facts = await handle.stat();
    } finally {
      await handle.close();
    }
    throwIfAborted(path, signal);
    await fs.rename(temp, path);
    renamed = true;
    await syncDirectory(fs, directory);
    return { dev: facts.dev, ino: facts.ino, size: facts.size, mtimeMs: facts.mtimeMs };
  } finally {
    if (!renamed) await fs.rm(temp, { force: true });
  }
}

/**
 * Removes the temp files writeFileAtomic left for `path` when the process died mid-write (killed,
 * out of memory). Only names of that exact shape are touched, never other files; call it before
 * this process writes `path`, as a temp file of a live writer would be taken too. Returns how many.
 */
export async function removeStaleTempFiles(path: string, fs: FileSystem = nodeFileSystem): Promise<number> {
  let names: string[];
  try {
    names = await fs.readdir(dirname(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
  const ours = names.filter((name) => isTempNameOf(path, name));
  for (const name of ours) await fs.rm(join(dirname(path), name), { force: true });
  return ours.length;
}

/** `.<basename>.<pid>.<8 hex>.tmp`, as writeFileAtomic names its temp files. */
export function isTempNameOf(path: string, name: string): boolean {
  const prefix = `.${basename(path)}.`;
  return name.startsWith(prefix) && /^\d+\.[0-9a-f]{8}\.tmp$/.test(name.slice(prefix.length));
}

function throwIfAborted(path: string, signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(`writing ${path} was aborted`, { cause: signal.reason });
}

/**
 * The content as pieces of at most WRITE_CHUNK_BYTES, through one reused buffer: a 20 MB file is
 * never copied whole (a string into a Buffer first, or chunks concatenated). A yielded piece is
 * valid until the next one is asked for.
 */
function chunksOf(content: FileContent): Iterable<Uint8Array> {
  if (typeof content === "string") return encodedPieces(content);
  // Chunks (one rendered line each) are packed so that one write(2) carries a full buffer.
  if (isChunks(content)) return packedPieces(content, WRITE_CHUNK_BYTES, true);
  return slicedPieces(content);
}

function* slicedPieces(content: Uint8Array): Generator<Uint8Array> {
  for (let offset = 0; offset < content.length; offset += WRITE_CHUNK_BYTES) {
    yield content.subarray(offset, offset + WRITE_CHUNK_BYTES);
  }
}

/** encodeInto never splits a character, and slice() of a long string is a view, not a copy. */
function* encodedPieces(content: string): Generator<Uint8Array> {
  const encoder = new TextEncoder();
  const buffer = new Uint8Array(Math.min(WRITE_CHUNK_BYTES, Math.max(4, content.length * 3)));
  for (let read = 0; read < content.length; ) {
    const encoded = encoder.encodeInto(read === 0 ? content : content.slice(read), buffer);
    read += encoded.read;
    yield buffer.subarray(0, encoded.written);
  }
}

/** write(2) may write less than asked (a signal, a full pipe); loop until the chunk is on disk. */
async function writeFully(handle: FileHandleLike, chunk: Uint8Array): Promise<void> {
  for (let offset = 0; offset < chunk.length; ) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/** Makes the rename itself durable: without it a crash can bring the old file back. */
async function syncDirectory(fs: FileSystem, directory: string): Promise<void> {
  let handle: FileHandleLike | undefined;
  try {
    handle = await fs.open(directory, "r");
    await handle.sync();
  } catch {
    // Some filesystems (and Windows) cannot fsync a directory; the rename itself is still atomic.
  } finally {
    await handle?.close();
  }
}
