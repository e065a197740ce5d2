import { type Chunk, chunkText, copyChunk } from "./compact-line.js";

/**
 * A file's bytes as an ordered list of chunks, never joined. At 10,000 instances the targets file
 * is ~20 MB: as one string (kept by the builder and the published file) plus the UTF-8 Buffer a
 * write makes of it, it was a sixth of the peak RSS, and flattening it ran out of memory on a small
 * heap. As chunks (the rendered lines themselves, shared with the builder's per-service cache) it
 * exists once, and the writer and the HTTP server stream it. Its lines are compact (see
 * CompactLine): read them through copyChunk, or packedPieces.
 */
export interface Chunks {
  /** Never mutated once built: a write or an HTTP response may still be reading them. */
  readonly chunks: readonly Chunk[];
  /** The sum of the chunks' lengths. */
  readonly byteLength: number;
}

/** What a published file can hold: small documents as text, the targets file as chunks. */
export type FileContent = string | Uint8Array | Chunks;

export function isChunks(content: FileContent): content is Chunks {
  return typeof content !== "string" && !(content instanceof Uint8Array);
}

export function chunksFrom(chunks: readonly Chunk[]): Chunks {
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
  if (content.chunks.length === 1) return chunkText(content.chunks[0] as Chunk);
  const bytes = Buffer.allocUnsafe(content.byteLength);
  let at = 0;
  for (const chunk of content.chunks) {
    copyChunk(chunk, 0, chunk.length, bytes, at);
    at += chunk.length;
  }
  return bytes.toString("utf8");
}

/**
 * The content's bytes in pieces of `size` bytes (the last one shorter), each packed from as many
 * chunks as fit and splitting a chunk that does not: few large writes instead of one per line.
 * With `reuse`, every piece is one buffer, valid until the next piece is asked for (the writer
 * waits for each write); without, each piece is a fresh buffer its consumer may keep (an HTTP
 * response holds what it was given until the socket takes it).
 */
export function* packedPieces(content: Chunks, size: number, reuse: boolean): Generator<Uint8Array> {
  let remaining = content.byteLength;
  if (remaining === 0) return;
  let piece = Buffer.allocUnsafe(Math.min(size, remaining));
  let filled = 0;
  for (const chunk of content.chunks) {
    for (let offset = 0; offset < chunk.length; ) {
      const length = Math.min(chunk.length - offset, piece.length - filled);
      copyChunk(chunk, offset, offset + length, piece, filled);
      filled += length;
      offset += length;
      if (filled < piece.length) continue;
      yield piece;
      remaining -= filled;
      filled = 0;
      if (!reuse && remaining > 0) piece = Buffer.allocUnsafe(Math.min(size, remaining));
    }
  }
  if (filled > 0) yield piece.subarray(0, filled);
}

/**
 * Byte equality, whatever the representation and the chunk boundaries. The common cases are
 * cheap: the same object (a steady cycle gets the builder's previous result back), different
 * lengths (almost every change), and chunk lists that share their unchanged chunks (the builder
 * reuses the lines of unchanged services), which are skipped without reading them. Only a chunk
 * not shared is decoded, one at a time, into a buffer per side.
 */
export function sameBytes(a: FileContent, b: FileContent): boolean {
  if (a === b) return true;
  if (typeof a === "string" && typeof b === "string") return false;
  const left = asChunks(a);
  const right = asChunks(b);
  if (left.byteLength !== right.byteLength) return false;
  const leftBytes = new ChunkBytes();
  const rightBytes = new ChunkBytes();
  let i = 0;
  let j = 0;
  let leftOffset = 0;
  let rightOffset = 0;
  while (i < left.chunks.length && j < right.chunks.length) {
    const x = left.chunks[i] as Chunk;
    const y = right.chunks[j] as Chunk;
    if (x === y && leftOffset === rightOffset) {
      i++;
      j++;
      leftOffset = rightOffset = 0;
      continue;
    }
    const length = Math.min(x.length - leftOffset, y.length - rightOffset);
    if (length > 0) {
      const xs = leftBytes.of(x);
      const ys = rightBytes.of(y);
      if (Buffer.compare(xs.subarray(leftOffset, leftOffset + length), ys.subarray(rightOffset, rightOffset + length)) !== 0) return false;
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

/** One side of a comparison: a chunk's bytes, decoded once however many times they are compared. */
class ChunkBytes {
  private chunk: Chunk | undefined;
  private decoded: Uint8Array = new Uint8Array(0);
  private buffer: Uint8Array = new Uint8Array(0);

  of(chunk: Chunk): Uint8Array {
    if (chunk instanceof Uint8Array) return chunk;
    if (chunk !== this.chunk) {
      if (this.buffer.length < chunk.length) this.buffer = new Uint8Array(Math.max(chunk.length, 2 * this.buffer.length));
      copyChunk(chunk, 0, chunk.length, this.buffer, 0);
      this.decoded = this.buffer.subarray(0, chunk.length);
      this.chunk = chunk;
    }
    return this.decoded;
  }
}
