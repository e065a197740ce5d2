/**
 * Rendered lines kept compactly. At 10,000 instances the targets file is 12,000 lines of ~1.7 KB,
 * and most of each line repeats its service's other lines (namespace, service, tags, cluster, task
 * definition...): only the address, the instance and task ids, the AZ and the health differ. So a
 * service keeps ONE buffer: its first line (the template) in full, then, per line, a short stream
 * of ops that rebuild the line from pieces of the template and literal bytes. Kept lines take
 * about an eighth of their bytes (2.5 MB for the 20 MB of lines of 10,000 instances), and decoding
 * is ~14 memory copies per line.
 *
 * Op stream: a sequence of ops, each starting with an unsigned LEB128 varint header
 * `length * 2 + kind`:
 *   kind 0, copy:    then a varint offset; the line continues with template[offset, offset + length).
 *   kind 1, literal: then `length` bytes, which the line continues with.
 * An empty op stream is the template itself.
 */
export class CompactLine {
  constructor(
    /** The service's buffer: the template at [0, template length), then the op streams of its lines. */
    readonly bytes: Uint8Array,
    readonly opsStart: number,
    readonly opsEnd: number,
    /** The decoded line's length in bytes (as Uint8Array's `length`, so both kinds of chunk measure alike). */
    readonly length: number,
  ) {}
}

/** A piece of a file's bytes: plain bytes (the file's frame, small documents) or a compact line. */
export type Chunk = Uint8Array | CompactLine;

const COPY = 0;
const LITERAL = 1;

/**
 * Copies bytes [from, to) of the chunk (as decoded) into target at `at`: the one place that reads
 * chunks, for the writer, the HTTP server, comparison and text. Allocates nothing per op but the
 * occasional view for a long copy.
 */
export function copyChunk(chunk: Chunk, from: number, to: number, target: Uint8Array, at: number): void {
  if (chunk instanceof Uint8Array) {
    copyBytes(chunk, from, to, target, at);
    return;
  }
  const { bytes, opsStart, opsEnd } = chunk;
  if (opsStart === opsEnd) {
    copyBytes(bytes, from, to, target, at);
    return;
  }
  let position = 0; // where the current op's bytes start in the decoded line
  cursor = opsStart;
  while (cursor < opsEnd && position < to) {
    const header = varintAt(bytes);
    const length = Math.floor(header / 2);
    let source: number;
    if (header % 2 === COPY) {
      source = varintAt(bytes);
    } else {
      source = cursor;
      cursor += length;
    }
    const end = position + length;
    if (end > from) {
      const start = Math.max(position, from);
      const stop = Math.min(end, to);
      copyBytes(bytes, source + (start - position), source + (stop - position), target, at + (start - from));
    }
    position = end;
  }
}

// Where varintAt reads: module state, as decoding is synchronous and never reentrant.
let cursor = 0;

function varintAt(bytes: Uint8Array): number {
  let value = 0;
  for (let scale = 1; ; scale *= 0x80) {
    const byte = bytes[cursor++] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
  }
}

/** The chunk's bytes as text: for the rare tie in sorting and for tests, never for a whole file. */
export function chunkText(chunk: Chunk): string {
  const bytes = Buffer.allocUnsafe(chunk.length);
  copyChunk(chunk, 0, chunk.length, bytes, 0);
  return bytes.toString("utf8");
}

// Below this many bytes a loop beats TypedArray.set, which needs a view allocated for its source.
const LOOP_BYTES = 48;

function copyBytes(source: Uint8Array, start: number, end: number, target: Uint8Array, at: number): void {
  if (end - start <= LOOP_BYTES) {
    for (let i = start; i < end; i++) target[at++] = source[i] as number;
  } else {
    target.set(start === 0 && end === source.length ? source : source.subarray(start, end), at);
  }
}

/**
 * Builds one service's buffer: the template, then one op stream per line. Adjacent copies of
 * contiguous template bytes merge into one op, and adjacent literals into one, so a run of labels
 * equal to the template's costs a few bytes whatever its length.
 */
export class CompactLineWriter {
  private buffer: Buffer;
  private filled: number;
  private readonly spans: number[] = []; // opsStart, opsEnd, length per line
  private lineStart = 0;
  private lineLength = 0;
  private copyStart = -1;
  private copyEnd = -1;
  private literal = "";
  private readonly templateLength: number;

  constructor(template: string) {
    this.templateLength = Buffer.byteLength(template, "utf8");
    this.buffer = Buffer.allocUnsafe(Math.max(1024, 2 * this.templateLength));
    this.filled = this.buffer.write(template, 0, "utf8");
  }

  /** The template itself as a line (no ops). */
  addTemplateLine(): void {
    this.spans.push(this.filled, this.filled, this.templateLength);
  }

  beginLine(): void {
    this.lineStart = this.filled;
    this.lineLength = 0;
  }

  /** The line continues with template bytes [start, end). */
  copy(start: number, end: number): void {
    if (end <= start) return;
    if (this.copyEnd === start) {
      this.copyEnd = end;
    } else {
      this.flush();
      this.copyStart = start;
      this.copyEnd = end;
    }
    this.lineLength += end - start;
  }

  /** The line continues with `text`, which must start on a character boundary (no half surrogate pair). */
  text(text: string): void {
    if (text === "") return;
    if (this.copyEnd >= 0) this.flush();
    this.literal += text;
  }

  endLine(): void {
    this.flush();
    this.spans.push(this.lineStart, this.filled, this.lineLength);
  }

  /**
   * The lines, in the order they were added, sharing one exactly sized buffer, freed whole when the
   * service changes. Unpooled: a small buffer from Node's shared pool would let one surviving line
   * keep a whole pool slab alive.
   */
  finish(): CompactLine[] {
    const bytes = Buffer.allocUnsafeSlow(this.filled);
    this.buffer.copy(bytes, 0, 0, this.filled);
    const lines: CompactLine[] = new Array(this.spans.length / 3);
    for (let i = 0; i < lines.length; i++) {
      lines[i] = new CompactLine(bytes, this.spans[3 * i] as number, this.spans[3 * i + 1] as number, this.spans[3 * i + 2] as number);
    }
    return lines;
  }

  private flush(): void {
    if (this.copyEnd >= 0) {
      const length = this.copyEnd - this.copyStart;
      this.reserve(20);
      this.varint(length * 2 + COPY);
      this.varint(this.copyStart);
      this.copyStart = this.copyEnd = -1;
    } else if (this.literal !== "") {
      const length = Buffer.byteLength(this.literal, "utf8");
      this.reserve(10 + length);
      this.varint(length * 2 + LITERAL);
      this.filled += this.buffer.write(this.literal, this.filled, length, "utf8");
      this.lineLength += length;
      this.literal = "";
    }
  }

  private varint(value: number): void {
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[this.filled++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.buffer[this.filled++] = rest;
  }

  private reserve(bytes: number): void {
    if (this.filled + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buffer.length, this.filled + bytes));
    this.buffer.copy(grown, 0, 0, this.filled);
    this.buffer = grown;
  }
}
