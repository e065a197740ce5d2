/**
 * A file's bytes as an ordered list of chunks, never joined. At 10,000 instances the targets file
 * is ~20 MB: as one string (kept by the builder and the published file) plus the UTF-8 Buffer a
 * write makes of it, it was a sixth of the peak RSS, and flattening it ran out of memory on a small
 * heap. As chunks (the rendered lines themselves, shared with the builder's per-service cache) it
 * exists once, and the writer and the HTTP server stream it.
 */
export interface Chunks {
  /** Never mutated once built: a write or an HTTP response may still be reading them. */
  readonly chunks: readonly Uint8Array[];
  /** The sum of the chunks' lengths. */
  readonly byteLength: number;
}

/** What a published file can hold: small documents as text, the targets file as chunks. */
export type FileContent = string | Uint8Array | Chunks;

export function isChunks(content: FileContent): content is Chunks {
  return typeof content !== "string" && !(content instanceof Uint8Array);
}

export function chunksFrom(chunks: readonly Uint8Array[]): Chunks {
  let byteLength = 0;
  for (const chunk of chunks) byteLength += chunk.length;
  return { chunks, byteLength };
}

/** Any content as chunks; a string is encoded (one copy: meant for small documents). */
export function asChunks(content: FileContent): Chunks {
  if (typeof content === "string") return chunksFrom([Buffer.from(content, "utf8")]);
  if (content instanceof Uint8Array) return { chunks: [content], byteLength: content.length };
  return content;
}

export function byteLengthOf(content: FileContent): number {
  if (typeof content === "string") return Buffer.byteLength(content, "utf8");
  return content.byteLength;
}

/** The content as text: for tests and small documents, never for the targets file on the hot path. */
export function textOf(content: FileContent): string {
  if (typeof content === "string") return content;
  if (content instanceof Uint8Array) return Buffer.from(content.buffer, content.byteOffset, content.length).toString("utf8");
  return Buffer.concat(content.chunks, content.byteLength).toString("utf8");
}

/**
 * Byte equality, whatever the representation and the chunk boundaries. The common cases are
 * cheap: the same object (a steady cycle gets the builder's previous result back), different
 * lengths (almost every change), and chunk lists that share their unchanged chunks (the builder
 * reuses the lines of unchanged services), which are skipped without reading them.
 */
export function sameBytes(a: FileContent, b: FileContent): boolean {
  if (a === b) return true;
  if (typeof a === "string" && typeof b === "string") return false;
  const left = asChunks(a);
  const right = asChunks(b);
  if (left.byteLength !== right.byteLength) return false;
  let i = 0;
  let j = 0;
  let leftOffset = 0;
  let rightOffset = 0;
  while (i < left.chunks.length && j < right.chunks.length) {
    const x = left.chunks[i] as Uint8Array;
    const y = right.chunks[j] as Uint8Array;
    if (x === y && leftOffset === rightOffset) {
      i++;
      j++;
      leftOffset = rightOffset = 0;
      continue;
    }
    const length = Math.min(x.length - leftOffset, y.length - rightOffset);
    if (length > 0 && Buffer.compare(x.subarray(leftOffset, leftOffset + length), y.subarray(rightOffset, rightOffset + length)) !== 0) {
      return false;
    }
    leftOffset += length;
    rightOffset += length;
    if (leftOffset === x.length) {
      i++;
      leftOffset = 0;
    }
    if (rightOffset === y.length) {
      j++;
      rightOffset = 0;
    }
  }
  // Equal lengths: whatever remains on either side is empty chunks.
  return true;
}
