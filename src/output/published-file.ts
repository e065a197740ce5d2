import { type FileContent, sameBytes } from "../core/file-content.js";
import { TargetsWriteError } from "../errors.js";
import { type FileFacts, type FileHandleLike, type FileSystem, isAbortError, nodeFileSystem, removeStaleTempFiles, writeFileAtomic } from "./atomic-write.js";

/**
 * What a publish did. `restored`: the content was unchanged but the file had been deleted or
 * replaced on disk (by someone else), so it was written again; the file now holds the content, as
 * with `written`. `held`: an existing file is kept until a complete discovery (it may still have
 * been restored with its held content; see `onRestore`).
 */
export type PublishOutcome = "written" | "unchanged" | "restored" | "held";

/** Why a file was rewritten without a change of content. */
export interface RestoreEvent {
  readonly path: string;
  readonly reason: "missing" | "replaced";
  /** True when the held content (an existing file kept at start) was restored. */
  readonly held: boolean;
}

export interface PublishedFileOptions {
  /** Injected in tests; node:fs/promises by default. */
  readonly fs?: FileSystem;
  /** Called after the file was restored on disk; for a log line or a metric. */
  readonly onRestore?: (event: RestoreEvent) => void;
}

export interface PublishOptions {
  /** The content reflects every part of the estate (not held back by a failed first read). */
  readonly complete: boolean;
  readonly force?: boolean;
  /** Aborts the write (shutdown): rejects with AbortError, and `content` stays what is on disk. */
  readonly signal?: AbortSignal;
}

/**
 * A file that other processes read (Prometheus' file_sd, its config). Rewritten atomically and
 * only when its bytes change, so Prometheus' watcher does not fire for nothing. The disk is
 * shared: each publish also stats the file (never reads it: it can be tens of MB) and writes it
 * again when it was deleted or replaced, since file_sd drops every target of a vanished file.
 * Content is kept as published (text, bytes or chunks; see Chunks) and compared by bytes.
 */
export class PublishedFile {
  private current: FileContent | undefined;
  /** What the file on disk looked like after our last write (or at open); undefined with `current`. */
  private facts: FileFacts | undefined;
  private holding = false;
  private queue: Promise<unknown> = Promise.resolve();
  private removedTemps = 0;
  private readonly fs: FileSystem;

  constructor(
    readonly path: string,
    private readonly options: PublishedFileOptions = {},
  ) {
    this.fs = options.fs ?? nodeFileSystem;
  }

  /**
   * The content on disk as far as this process knows (what http_sd serves): as last published,
   * or the existing file's bytes (a Buffer) while it is held. Never mutated: it can be streamed.
   */
  get content(): FileContent | undefined {
    return this.current;
  }

  /** How many temp files of a write that died with a previous process open() removed. */
  get staleTempFilesRemoved(): number {
    return this.removedTemps;
  }

  /**
   * At start: stale temp files of this file are removed. An existing file is left alone (held)
   * until a complete discovery replaces it, so a restart during an AWS outage does not wipe the
   * targets; with no file, `initial` is written so Prometheus starts cleanly.
   */
  async open(initial?: FileContent): Promise<"existing" | "created" | "absent"> {
    let existing: { bytes: Buffer; facts: FileFacts } | undefined;
    try {
      this.removedTemps = await removeStaleTempFiles(this.path, this.fs);
      existing = await this.readExisting();
    } catch (error) {
      throw new TargetsWriteError(this.path, { cause: error });
    }
    if (existing) {
      this.current = existing.bytes;
      this.facts = existing.facts;
      this.holding = true;
      return "existing";
    }
    if (initial === undefined) return "absent";
    await this.publish(initial, { complete: false, force: true });
    return "created";
  }

  /**
   * Publishes are queued, so `content` and the recorded disk facts always describe the last
   * write that reached the disk, even when two publishes overlap.
   */
  publish(content: FileContent, options: PublishOptions): Promise<PublishOutcome> {
    const run = this.queue.then(() => this.publishNow(content, options));
    // The queue only orders publishes; each caller gets its own outcome or error through `run`.
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async publishNow(content: FileContent, options: PublishOptions): Promise<PublishOutcome> {
    if (this.holding && !options.complete && !options.force) {
      await this.restoreIfGone(options.signal);
      return "held";
    }
    if (this.current !== undefined && sameBytes(content, this.current)) {
      // The same bytes: keep the newer object, so the next steady cycle compares identities only
      // and the older copy (the file read at open, a previous build) can be freed.
      this.current = content;
      const restored = await this.restoreIfGone(options.signal);
      if (options.complete) this.holding = false;
      return restored ? "restored" : "unchanged";
    }
    await this.write(content, options.signal);
    if (options.complete) this.holding = false;
    return "written";
  }

  /** Writes `current` again when the file on disk is not the one we last wrote (or found at open). */
  private async restoreIfGone(signal: AbortSignal | undefined): Promise<boolean> {
    const current = this.current;
    if (current === undefined) return false;
    const reason = await this.checkDisk();
    if (reason === undefined) return false;
    await this.write(current, signal);
    this.options.onRestore?.({ path: this.path, reason, held: this.holding });
    return true;
  }

  private async checkDisk(): Promise<RestoreEvent["reason"] | undefined> {
    let facts: FileFacts;
    try {
      facts = await this.fs.stat(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return "missing";
      throw new TargetsWriteError(this.path, { cause: error });
    }
    return this.facts !== undefined && sameFacts(facts, this.facts) ? undefined : "replaced";
  }

  /** `current` and `facts` change only once the new file has been renamed into place. */
  private async write(content: FileContent, signal: AbortSignal | undefined): Promise<void> {
    let facts: FileFacts;
    try {
      facts = await writeFileAtomic(this.path, content, { signal, fs: this.fs });
    } catch (error) {
      if (isAbortError(error)) throw error;
      throw new TargetsWriteError(this.path, { cause: error });
    }
    this.current = content;
    this.facts = facts;
  }

  /** Content and facts through one handle, so they describe the same file even if it is replaced meanwhile. */
  private async readExisting(): Promise<{ bytes: Buffer; facts: FileFacts } | undefined> {
    let handle: FileHandleLike;
    try {
      handle = await this.fs.open(this.path, "r");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    try {
      const facts = await handle.stat();
      return { bytes: await handle.readFile(), facts: { dev: facts.dev, ino: facts.ino, size: facts.size, mtimeMs: facts.mtimeMs } };
    } finally {
      await handle.close();
    }
  }
}

function sameFacts(a: FileFacts, b: FileFacts): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}
