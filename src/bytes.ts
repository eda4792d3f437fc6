/**
 * Joining byte pieces: responses, encodings and decoders hand data around in pieces, and a few
 * places need them as one buffer (small blobs read whole, tests).
 *
 * @module
 */

/** The pieces back to back in one new buffer. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Everything a stream of pieces yields, in one buffer (for what is known to be small). With
 * `max`, the error `tooLong` makes as soon as it runs past `max` bytes; leaving the loop then
 * cancels a stream, so the rest is never read.
 */
export async function collect(
  parts: AsyncIterable<Uint8Array>,
  max = Infinity,
  tooLong: () => Error = () => new RangeError(`more than ${max} bytes`),
): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const p of parts) {
    length += p.length;
    if (length > max) throw tooLong();
    chunks.push(p);
  }
  return concatBytes(chunks);
}
