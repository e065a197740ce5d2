import { readFile } from "node:fs/promises";
import { TargetsWriteError } from "../errors.js";
import { writeFileAtomic } from "./atomic-write.js";

export type PublishOutcome = "written" | "unchanged" | "held";

/**
 * A file that other processes read (Prometheus' file_sd, its config). Rewritten atomically and
 * only when its bytes change, so Prometheus' watcher does not fire for nothing.
 */
export class PublishedFile {
  private current: string | undefined;
  private holding = false;

  constructor(readonly path: string) {}

  /** The content on disk as far as this process knows (what http_sd serves). */
  get content(): string | undefined {
    return this.current;
  }

  /**
   * At start: an existing file is left alone (held) until a complete discovery replaces it, so a
   * restart during an AWS outage does not wipe the targets; with no file, `initial` is written so
   * Prometheus starts cleanly.
   */
  async open(initial?: string): Promise<"existing" | "created" | "absent"> {
    try {
      this.current = await readFile(this.path, "utf8");
      this.holding = true;
      return "existing";
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new TargetsWriteError(this.path, { cause: error });
    }
    if (initial === undefined) return "absent";
    await this.publish(initial, { complete: false, force: true });
    return "created";
  }

  /** `complete`: the content reflects every part of the estate (not held back by a failed first read). */
  async publish(content: string, options: { complete: boolean; force?: boolean }): Promise<PublishOutcome> {
    if (this.holding && !options.complete && !options.force) return "held";
    if (content === this.current) {
      if (options.complete) this.holding = false;
      return "unchanged";
    }
    try {
      await writeFileAtomic(this.path, content);
    } catch (error) {
      throw new TargetsWriteError(this.path, { cause: error });
    }
    this.current = content;
    if (options.complete) this.holding = false;
    return "written";
  }
}
