/**
 * File plumbing for the command-line tools: `-` for stdin/stdout, reads in large pieces,
 * positioned reads for encoders, and batched writes so that 64-byte pairs do not each cost a
 * system call.
 *
 * @module
 */

/** Read size: large enough to keep hashing, not system calls, the cost. */
export const READ_SIZE = 1 << 20;

/** Opens `path` for reading, or stdin for `-`. */
export async function openInput(path: string): Promise<Deno.FsFile | typeof Deno.stdin> {
  return path === "-" ? Deno.stdin : await Deno.open(path, { read: true });
}

/** Opens `path` for writing (created or truncated), or stdout for `-`. */
export async function openOutput(path: string): Promise<Deno.FsFile | typeof Deno.stdout> {
  return path === "-"
    ? Deno.stdout
    : await Deno.open(path, { write: true, create: true, truncate: true });
}

interface Readable {
  read(p: Uint8Array): Promise<number | null>;
}

/**
 * The contents of `file` in pieces of up to `READ_SIZE` bytes. One buffer is reused, so a piece
 * is valid only until the next one is requested: consumers copy what they keep (the hasher and
 * the decoder do). Fresh buffers per piece would let garbage, not data, set the peak memory.
 */
export async function* readPieces(file: Readable): AsyncGenerator<Uint8Array> {
  const buf = new Uint8Array(READ_SIZE);
  while (true) {
    let n = 0;
    while (n < buf.length) {
      const r = await file.read(buf.subarray(n));
      if (r === null) break;
      n += r;
    }
    if (n > 0) yield buf.subarray(0, n);
    if (n < buf.length) return;
  }
}

/** Reads exactly `[start, end)` of a seekable file (fewer bytes only at its end). */
export async function readAt(file: Deno.FsFile, start: number, end: number): Promise<Uint8Array> {
  const buf = new Uint8Array(end - start);
  await file.seek(start, Deno.SeekMode.Start);
  let n = 0;
  while (n < buf.length) {
    const r = await file.read(buf.subarray(n));
    if (r === null) break;
    n += r;
  }
  return buf.subarray(0, n);
}

interface Writable {
  write(p: Uint8Array): Promise<number>;
}

/** Writes all of `bytes`. */
export async function writeAll(file: Writable, bytes: Uint8Array): Promise<void> {
  let n = 0;
  while (n < bytes.length) n += await file.write(bytes.subarray(n));
}

/** Collects small writes into 1 MiB batches. */
export class BatchWriter {
  #buf = new Uint8Array(READ_SIZE);
  #fill = 0;
  constructor(readonly file: Writable) {}

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#fill + bytes.length > this.#buf.length) await this.flush();
    if (bytes.length >= this.#buf.length) return await writeAll(this.file, bytes);
    this.#buf.set(bytes, this.#fill);
    this.#fill += bytes.length;
  }

  async flush(): Promise<void> {
    await writeAll(this.file, this.#buf.subarray(0, this.#fill));
    this.#fill = 0;
  }
}
