/**
 * The official Willow'25 encoding vectors (worm-blossom/willow_test_vectors, read from
 * ../shared/vectors/willow: they carry no license to redistribute, so they are never copied into
 * this repository; without that folder these tests are skipped with a notice).
 *
 * For every encoding implemented, with no exceptions: every `yay` decodes (relative ones relative
 * to the value in `yay_relative_to`), its decoded value's absolute encoding equals `reencoded/`
 * (or, for the snake_case encoding *functions* without `reencoded/`, the input itself), our own
 * writer re-encodes it to a code that decodes to the same value (for encoding functions: to
 * exactly the input), and every `nay` fails with a `WillowDecodeError`. Where the spec text and
 * willow-rs (which generated the vectors) disagree, the decoders follow willow-rs (see the doc
 * comments of `area_encoding.ts` and `capability_encoding.ts`).
 *
 * The summary prints, per suite, how many nays failed with the error kind ("truncated" /
 * "invalid") willow-rs names in `nay_reason`.
 */
import { assert, assertEquals } from "./assert.ts";
import { decodePrefix, encode, type Reader, type Writer } from "../src/willow/codec.ts";
import { WillowDecodeError } from "../src/willow/errors.ts";
import {
  readPath,
  readPathExtendsPath,
  readPathRelativePath,
  writePath,
  writePathExtendsPath,
  writePathRelativePath,
} from "../src/willow/path_encoding.ts";
import {
  readEntry,
  readEntryInNamespace3dRange,
  readEntryRelativeEntry,
  writeEntry,
  writeEntryInNamespace3dRange,
  writeEntryRelativeEntry,
} from "../src/willow/entry_encoding.ts";
import {
  readAreaAbsolute,
  readAreaInArea,
  writeAreaAbsolute,
  writeAreaInArea,
} from "../src/willow/area_encoding.ts";
import {
  read3dRangeAbsolute,
  read3dRangeRelative3dRange,
  write3dRangeAbsolute,
  write3dRangeRelative3dRange,
} from "../src/willow/range3d_encoding.ts";
import { readPublicKey } from "../src/willow/id_encoding.ts";
import {
  readCommunalCapability,
  readEnumerationCapability,
  readMcCapability,
  readOwnedCapability,
  writeCommunalCapability,
  writeMcCapability,
  writeOwnedCapability,
} from "../src/willow/capability_encoding.ts";
import { isValidEnumerationCapability } from "../src/willow/enumeration_capability.ts";
import type { McCapability } from "../src/willow/meadowcap.ts";
import type { NamespaceId } from "../src/willow/keys.ts";
import type { Range3d } from "../src/willow/range3d.ts";
import { MAX_COMPONENT_COUNT } from "../src/willow/params.ts";
import { EMPTY_PATH, type Path, pathOf } from "../src/willow/path.ts";

const ROOT = new URL("../../shared/vectors/willow/willow_test_vectors/", import.meta.url);
const present = (() => {
  try {
    return Deno.statSync(ROOT).isDirectory;
  } catch {
    return false;
  }
})();
if (!present) {
  console.warn(`willow vectors: ${ROOT.pathname} is absent, skipping the vector tests`);
}

/** One vector directory: how to read its reference value, decode, and re-encode. */
interface Suite<T, R> {
  dir: string;
  /** snake_case directories hold canonic encoding functions. */
  canonic: boolean;
  /** Reads a `*_relative_to` file (absent for absolute encodings). */
  readRel?: (r: Reader) => R;
  read: (r: Reader, rel: R) => T;
  /** The absolute encoding the generator wrote to `reencoded/`. */
  writeAbsolute: (w: Writer, v: T) => void;
  /** Our writer for this encoding (relative ones relative to `rel`). */
  write: (w: Writer, v: T, rel: R) => void;
  /**
   * For nays stored without their reference value (`path_extends_path`: the generator wrote
   * none): the reference that makes decoding easiest, and the one that makes it hardest. A nay
   * that decodes against the first must still fail against the second, since willow-rs rejected
   * it against some reference.
   */
  unknownRel?: { easiest: R; hardest: R };
}

function files(dir: URL): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort((a, b) => Number(a) - Number(b));
  } catch {
    return [];
  }
}

function readFile(dir: string, sub: string, name: string): Uint8Array | undefined {
  try {
    return Deno.readFileSync(new URL(`${dir}/${sub}/${name}`, ROOT));
  } catch {
    return undefined;
  }
}

interface Tally {
  yay: number;
  nay: number;
  /** nays rejected with the error kind willow-rs names. */
  nayKindAgrees: number;
  /** nays without their reference that only the hardest reference rejects. */
  nayHardest: number;
}

const tallies: Record<string, Tally> = {};

function relValue<T, R>(suite: Suite<T, R>, bytes: Uint8Array | undefined): R {
  if (suite.readRel === undefined) return undefined as R;
  assert(bytes !== undefined, "missing relative_to");
  // Reference values were generated, not decoded, by willow-rs: their keys need not be points.
  return decodePrefix(bytes, suite.readRel, { canonic: false, trusted: true }).value;
}

function checkYay<T, R>(suite: Suite<T, R>, name: string): void {
  const { dir } = suite;
  const input = readFile(dir, "yay", name)!;
  const rel = relValue(suite, readFile(dir, "yay_relative_to", name));
  let decoded: { value: T; length: number };
  try {
    decoded = decodePrefix(input, (r) => suite.read(r, rel), { canonic: suite.canonic });
  } catch (e) {
    throw new Error(`${dir}/yay/${name} failed to decode: ${e}`);
  }
  const absolute = encode((w) => suite.writeAbsolute(w, decoded.value));
  const expected = readFile(dir, "reencoded", name) ?? input.subarray(0, decoded.length);
  assertEquals(absolute, expected, `${dir}/yay/${name} re-encoded`);
  const ours = encode((w) => suite.write(w, decoded.value, rel));
  if (suite.canonic) {
    assertEquals(ours, input.subarray(0, decoded.length), `${dir}/yay/${name} canonic code`);
  }
  const again = decodePrefix(ours, (r) => suite.read(r, rel), { canonic: true });
  assertEquals(again.length, ours.length, `${dir}/yay/${name} our code`);
  assertEquals(encode((w) => suite.writeAbsolute(w, again.value)), absolute);
}

/** The error decoding `input` relative to `rel` fails with, or `undefined` if it decodes. */
function failure<T, R>(
  suite: Suite<T, R>,
  input: Uint8Array,
  rel: R,
): WillowDecodeError | undefined {
  try {
    decodePrefix(input, (r) => suite.read(r, rel), { canonic: suite.canonic });
    return undefined;
  } catch (e) {
    if (e instanceof WillowDecodeError) return e;
    throw e;
  }
}

/** Checks one nay; returns whether it failed with willow-rs' error kind. */
function checkNay<T, R>(suite: Suite<T, R>, name: string, tally: Tally): boolean {
  const { dir } = suite;
  const input = readFile(dir, "nay", name)!;
  const reason = new TextDecoder().decode(readFile(dir, "nay_reason", name)).trim();
  const kind = reason.includes("UnexpectedEndOfInput") ? "truncated" : "invalid";
  const relBytes = readFile(dir, "nay_relative_to", name);
  let error: WillowDecodeError | undefined;
  if (suite.readRel === undefined || relBytes !== undefined) {
    error = failure(suite, input, relValue(suite, relBytes));
  } else {
    assert(suite.unknownRel !== undefined, `${dir}/nay/${name}: no reference`);
    error = failure(suite, input, suite.unknownRel.easiest);
    if (error === undefined) {
      tally.nayHardest++;
      error = failure(suite, input, suite.unknownRel.hardest);
    }
  }
  assert(error !== undefined, `${dir}/nay/${name} decoded but must not (${reason})`);
  return error.kind === kind;
}

function runSuite<T, R>(suite: Suite<T, R>): Tally {
  const tally: Tally = { yay: 0, nay: 0, nayKindAgrees: 0, nayHardest: 0 };
  for (const name of files(new URL(`${suite.dir}/yay/`, ROOT))) {
    checkYay(suite, name);
    tally.yay++;
  }
  for (const name of files(new URL(`${suite.dir}/nay/`, ROOT))) {
    if (checkNay(suite, name, tally)) tally.nayKindAgrees++;
    tally.nay++;
  }
  tallies[suite.dir] = tally;
  return tally;
}

function suiteTest<T, R>(suite: Suite<T, R>): void {
  Deno.test({
    name: `willow vectors: ${suite.dir}`,
    ignore: !present,
    fn() {
      const t = runSuite(suite);
      assert(t.yay + t.nay > 0, `no vectors in ${suite.dir}`);
    },
  });
}

/** 1024 one-byte components: at both the count and the length limit, so it extends no further. */
const LONGEST_PATH = pathOf(Array.from({ length: MAX_COMPONENT_COUNT }, () => new Uint8Array(1)));

const pathSuites = (canonic: boolean): Suite<Path, undefined> => ({
  dir: canonic ? "encode_path" : "EncodePath",
  canonic,
  read: (r) => readPath(r),
  writeAbsolute: writePath,
  write: writePath,
});
suiteTest(pathSuites(false));
suiteTest(pathSuites(true));

for (const canonic of [false, true]) {
  suiteTest<Path, Path>({
    dir: canonic ? "path_rel_path" : "EncodePathRelativePath",
    canonic,
    readRel: readPath,
    read: readPathRelativePath,
    writeAbsolute: writePath,
    write: writePathRelativePath,
  });
  suiteTest<Path, Path>({
    dir: canonic ? "path_extends_path" : "EncodePathExtendsPath",
    canonic,
    readRel: readPath,
    read: readPathExtendsPath,
    writeAbsolute: writePath,
    write: writePathExtendsPath,
    unknownRel: { easiest: EMPTY_PATH, hardest: LONGEST_PATH },
  });
  suiteTest({
    dir: canonic ? "encode_entry" : "EncodeEntry",
    canonic,
    read: (r) => readEntry(r),
    writeAbsolute: writeEntry,
    write: writeEntry,
  });
  suiteTest({
    dir: canonic ? "area_in_area" : "EncodeAreaInArea",
    canonic,
    readRel: readAreaAbsolute,
    read: readAreaInArea,
    writeAbsolute: writeAreaAbsolute,
    write: writeAreaInArea,
  });
}

suiteTest({
  dir: "EncodeEntryRelativeEntry",
  canonic: false,
  readRel: readEntry,
  read: readEntryRelativeEntry,
  writeAbsolute: writeEntry,
  write: writeEntryRelativeEntry,
});

suiteTest<Range3d, Range3d>({
  dir: "Encode3dRangeRelative3dRange",
  canonic: false,
  readRel: read3dRangeAbsolute,
  read: read3dRangeRelative3dRange,
  writeAbsolute: write3dRangeAbsolute,
  write: write3dRangeRelative3dRange,
});

suiteTest<ReturnType<typeof readEntry>, [NamespaceId, Range3d]>({
  dir: "EncodeEntryInNamespace3dRange",
  canonic: false,
  readRel: (r) => [readPublicKey(r), read3dRangeAbsolute(r)],
  read: (r, [ns, range]) => readEntryInNamespace3dRange(r, ns, range),
  writeAbsolute: writeEntry,
  write: (w, e, [ns, range]) => writeEntryInNamespace3dRange(w, e, ns, range),
});

for (
  const [dir, read, write] of [
    ["EncodeCommunalCapability", readCommunalCapability, writeCommunalCapability],
    ["EncodeOwnedCapability", readOwnedCapability, writeOwnedCapability],
    ["EncodeMcCapability", readMcCapability, writeMcCapability],
  ] as const
) {
  suiteTest<McCapability, undefined>({
    dir,
    canonic: false,
    read: (r) => read(r),
    writeAbsolute: write as (w: Writer, c: McCapability) => void,
    write: write as (w: Writer, c: McCapability) => void,
  });
}

Deno.test({
  name: "willow vectors: EncodeMcEnumerationCapability (all nay: invalid signatures or codes)",
  ignore: !present,
  async fn() {
    const dir = "EncodeMcEnumerationCapability";
    let rejectedByDecoder = 0;
    let rejectedByValidity = 0;
    for (const name of files(new URL(`${dir}/nay/`, ROOT))) {
      const input = readFile(dir, "nay", name)!;
      let cap;
      try {
        cap = decodePrefix(input, readEnumerationCapability, { canonic: false }).value;
      } catch (e) {
        assert(e instanceof WillowDecodeError, `${dir}/nay/${name} threw ${e}`);
        rejectedByDecoder++;
        continue;
      }
      // willow-rs verifies the signature chain while decoding; we do it as a separate step.
      assert(!await isValidEnumerationCapability(cap), `${dir}/nay/${name} is valid`);
      rejectedByValidity++;
    }
    assert(rejectedByDecoder + rejectedByValidity > 0);
    console.log(
      `${dir}: nay ${rejectedByDecoder} rejected by the decoder, ${rejectedByValidity} by validity`,
    );
  },
});

Deno.test({
  name: "willow vectors: summary",
  ignore: !present,
  fn() {
    for (const [dir, t] of Object.entries(tallies)) {
      console.log(
        `${dir}: yay ${t.yay} decoded and re-encoded; nay ${t.nay} rejected, ` +
          `${t.nayKindAgrees} with willow-rs' error kind` +
          (t.nayHardest ? ` (${t.nayHardest} only against the longest reference path)` : ""),
      );
    }
  },
});
