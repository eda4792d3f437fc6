/**
 * Hand-made codes for the decisions the vectors cannot pin down: canonic versus relation
 * decoding, where we follow willow-rs against the spec text (and where not), the spec's path
 * example erratum, whole-input decoding, and trusted decoding.
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { asHash, fromHex, toHex } from "../src/blake3/hash.ts";
import { type Area, fullArea } from "../src/willow/area.ts";
import { readAreaInArea, writeAreaInArea } from "../src/willow/area_encoding.ts";
import { decode, decodePrefix, encode } from "../src/willow/codec.ts";
import { makeEntry } from "../src/willow/entry.ts";
import {
  readEntry,
  readEntryInNamespace3dRange,
  readEntryRelativeEntry,
  writeEntry,
  writeEntryInNamespace3dRange,
} from "../src/willow/entry_encoding.ts";
import { WillowDecodeError } from "../src/willow/errors.ts";
import { isPointEncoding, type PublicKey } from "../src/willow/keys.ts";
import { U64_MAX } from "../src/willow/params.ts";
import { pathFromStrings } from "../src/willow/path.ts";
import { readPath, readPathRelativePath, writePath } from "../src/willow/path_encoding.ts";
import { timeRange } from "../src/willow/range.ts";
import { full3dRange, type Range3d } from "../src/willow/range3d.ts";
import { read3dRangeRelative3dRange } from "../src/willow/range3d_encoding.ts";

const hex = (s: string) => fromHex(s.replaceAll(" ", ""))!;

function rejects(bytes: Uint8Array, read: Parameters<typeof decode>[1], canonic: boolean) {
  return assertThrows(() => decode(bytes, read, { canonic }), WillowDecodeError);
}

/** The Willow'25 default namespace id (willow25.tsx), a point, used wherever a key is needed. */
const KEY = hex("934e6021339e1f013ba94900edc25d8d74c0b4e573768910ae0f507d8c817318") as PublicKey;

Deno.test("willow encoding: the spec's blog/ideas/fun example lacks the total length byte", () => {
  const p = pathFromStrings("blog", "ideas", "fun");
  const ours = encode((w) => writePath(w, p));
  assertEquals(toHex(ours), "c30c04626c6f67056964656173" + "66756e");
  const printed = hex("C3 04 62 6C 6F 67 05 69 64 65 61 73 66 75 6E");
  assertThrows(() => decode(printed, readPath), WillowDecodeError);
});

Deno.test("willow encoding: canonic readers reject what only the relation allows", () => {
  // One empty component, total length written with a one-byte tag (EncodePath yay 47).
  assertEquals(decode(hex("c1 00"), readPath, { canonic: false }), pathFromStrings(""));
  rejects(hex("c1 00"), readPath, true);
  // path_rel_path must use the longest common prefix: a/b relative to a/c with 0 shared.
  const ref = pathFromStrings("a", "c");
  const notLongest = hex("00 22 01 61 62"); // prefix 0, then EncodePath of a/b
  const read = (r: Parameters<typeof readPathRelativePath>[0]) => readPathRelativePath(r, ref);
  assertEquals(decode(notLongest, read, { canonic: false }), pathFromStrings("a", "b"));
  rejects(notLongest, read, true);
  // A timestamp of 5 written with eight bytes.
  const entry = makeEntry({
    namespaceId: KEY,
    subspaceId: KEY,
    path: pathFromStrings(),
    timestamp: 5n,
    payloadLength: 0n,
    payloadDigest: asHash(new Uint8Array(32)),
  });
  const canonic = encode((w) => writeEntry(w, entry));
  const wide = Uint8Array.from([
    ...canonic.subarray(0, 65),
    0xff,
    ...new Uint8Array(7),
    5,
    ...canonic.subarray(66),
  ]);
  assertEquals(decode(wide, readEntry, { canonic: false }), entry);
  rejects(wide, readEntry, true);
});

Deno.test("willow encoding: whole-input decoding refuses trailing bytes", () => {
  const bytes = hex("00 ff");
  assertEquals(decodePrefix(bytes, readPath).length, 1);
  const e = assertThrows(() => decode(bytes, readPath), WillowDecodeError);
  assertEquals(e.kind, "invalid");
  assertEquals(
    assertThrows(() => decode(hex("21"), readPath), WillowDecodeError).kind,
    "truncated",
  );
});

Deno.test("willow encoding: keys must be points unless the bytes are trusted", () => {
  const notPoint = new Uint8Array(32);
  notPoint[0] = 2;
  assert(!isPointEncoding(notPoint));
  const bytes = Uint8Array.from([...notPoint, ...KEY, 0x00, 0x00, 0x00, ...new Uint8Array(32)]);
  const err = assertThrows(() => decode(bytes, readEntry), WillowDecodeError);
  assertEquals(err.kind, "invalid");
  assertEquals(toHex(decode(bytes, readEntry, { trusted: true }).namespaceId), toHex(notPoint));
});

/** An area in the full area: any subspace, empty path, the given times. */
const timesArea = (start: bigint, end?: bigint): Area => ({
  subspace: "any",
  path: pathFromStrings(),
  times: timeRange(start, end),
});

Deno.test("willow encoding: an open end counts as 2^64 - 1 (willow-rs, not the spec)", () => {
  const late = timesArea(U64_MAX - 9n);
  const ours = encode((w) => writeAreaInArea(w, late, fullArea()));
  // Open end, start measured from the (open) end, 9 in one byte, the empty path.
  assertEquals(toHex(ours), "40" + "09" + "00");
  for (const canonic of [true, false]) {
    assertEquals(decode(ours, (r) => readAreaInArea(r, fullArea()), { canonic }), late);
  }
  // The spec's code (measured from the start) is no longer valid: it is not the nearer bound.
  const spec = hex("6c" + "fffffffffffffff6" + "00");
  assertEquals(rejects(spec, (r) => readAreaInArea(r, fullArea()), false).kind, "invalid");
});

Deno.test("willow encoding: area_in_area breaks ties towards the start; empty ranges decode", () => {
  const outer = timesArea(0n, 100n);
  const inner = timesArea(50n, 100n);
  const read = (r: Parameters<typeof readAreaInArea>[0]) => readAreaInArea(r, outer);
  const ours = encode((w) => writeAreaInArea(w, inner, outer));
  assertEquals(
    toHex(ours),
    "20" + "32" + "00" + "00",
    "start 50 from the start, end 0 from the end",
  );
  // Measuring the tied start from the end is a valid code, but not the canonic one.
  const fromEnd = hex("00 32 00 00");
  assertEquals(decode(fromEnd, read, { canonic: false }), inner);
  rejects(fromEnd, read, true);
  // A bound measured from the farther end is no code at all (willow-rs checks this always).
  rejects(hex("30 32 64 00"), read, false);
  // The empty time range [7, 7) decodes (willow-rs' ranges may be empty) and includes nothing.
  const empty = hex("30 07 07 00");
  for (const canonic of [true, false]) {
    const area = decode(empty, read, { canonic });
    assertEquals(area.times, { start: 7n, end: 7n });
    assertEquals(encode((w) => writeAreaInArea(w, area, outer)), empty);
  }
});

Deno.test("willow encoding: area_in_area may write out an equal subspace only as a relation", () => {
  const outer: Area = { subspace: KEY, path: pathFromStrings(), times: timeRange(0n) };
  const read = (r: Parameters<typeof readAreaInArea>[0]) => readAreaInArea(r, outer);
  const flagged = hex("e0" + toHex(KEY) + "00" + "00");
  assertEquals(decode(flagged, read, { canonic: false }), { ...outer, path: pathFromStrings() });
  assertEquals(rejects(flagged, read, true).kind, "invalid");
});

Deno.test("willow encoding: relative header bits mean what they say", () => {
  const ref = makeEntry({
    namespaceId: KEY,
    subspaceId: KEY,
    path: pathFromStrings("a"),
    timestamp: 10n,
    payloadLength: 1n,
    payloadDigest: asHash(new Uint8Array(32)),
  });
  const read = (r: Parameters<typeof readEntryRelativeEntry>[0]) => readEntryRelativeEntry(r, ref);
  // Time difference 0 in one byte, the same path (one shared component, empty rest), a digest;
  // the payload length 1 sits in the header's last three bits.
  const rest = "00" + "01" + "00" + "00".repeat(32);
  // "namespace differs" set, but the namespace written is the reference's.
  // willow-rs decodes it, but its encoder never writes it; the spec's "1 iff" holds here.
  const flagged = hex("81" + toHex(KEY) + rest);
  assertEquals(rejects(flagged, read, false).kind, "invalid");
  // "later" set with a time difference of 0.
  const later = hex("21" + rest);
  assertEquals(rejects(later, read, false).kind, "invalid");
  assertEquals(decode(hex("01" + rest), read, { canonic: false }), ref);
});

Deno.test("willow encoding: a 3dRange may write out a subspace bound equal to the reference's", () => {
  const ref: Range3d = full3dRange();
  const r: Range3d = { ...full3dRange(), subspaces: { start: KEY } };
  const read = (x: Parameters<typeof read3dRangeRelative3dRange>[0]) =>
    read3dRangeRelative3dRange(x, { ...ref, subspaces: { start: KEY } });
  // Bits 11 (written out) although KEY is the reference start (willow-rs refuses this).
  const written = hex("cd" + "80" + toHex(KEY) + "00" + "00" + "00");
  assertEquals(decode(written, read, { canonic: false }), r);
});

Deno.test("willow encoding: an entry in an open time range is measured from 2^64 - 1 if nearer", () => {
  const entry = makeEntry({
    namespaceId: KEY,
    subspaceId: KEY,
    path: pathFromStrings(),
    timestamp: U64_MAX - 2n,
    payloadLength: 0n,
    payloadDigest: asHash(new Uint8Array(32)),
  });
  const range: Range3d = { ...full3dRange(), subspaces: { start: KEY } };
  const code = encode((w) => writeEntryInNamespace3dRange(w, entry, KEY, range));
  // Subspace = range start, path relative to the start, time from the end: 2 in one byte.
  assertEquals(toHex(code.subarray(0, 5)), "40" + "00" + "00" + "02" + "00");
  const read = (r: Parameters<typeof readEntryInNamespace3dRange>[0]) =>
    readEntryInNamespace3dRange(r, KEY, range);
  assertEquals(decode(code, read), entry);
});
