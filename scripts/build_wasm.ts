/**
 * Generates the WebAssembly SIMD BLAKE3 kernel (`subtreeCvs`, see src/blake3/backend.ts).
 *
 * The module is written here as WebAssembly text by small emitters (G, round, transpose, …) and
 * assembled with wabt, rather than compiled from C or Rust, so that the project needs no native
 * toolchain and a reviewer can read every instruction in the committed
 * `src/blake3/wasm/blake3_simd.wat`. The binaries are embedded gzipped and base64-encoded in
 * `src/blake3/wasm/blake3_simd_wasm.ts`, so Deno Deploy and browsers load them with no build
 * step and no file access.
 *
 * Shape of the kernel (BLAKE3 paper §5.3, "SIMD across chunks"):
 * - Four chunks are hashed at once, one per i32x4 lane: state word i of the four compressions
 *   lives in one v128, so G is plain lane-wise arithmetic and needs no shuffling of the state.
 * - Each 64-byte block of the four chunks is loaded as sixteen v128 (four per chunk) and
 *   transposed once with i8x16.shuffle into sixteen message vectors (lane k = word i of chunk k).
 * - The seven rounds are fully unrolled with the message schedule applied at generation time,
 *   so no permutation code runs: each G names the message vector it needs.
 * - The hot loop hashes two such groups (eight chunks) in one instruction stream, so the CPU
 *   always has independent work (see GenOptions.groups).
 * - Chunk CVs are transposed back and stored contiguously (32 bytes each), so the parent of CVs
 *   2i and 2i+1 is the contiguous 64-byte block at 64·i: parents are hashed four at a time by the
 *   same code with a 64-byte stride, level by level, in place.
 * - The last chunks (fewer than eight whole chunks and/or a partial chunk, or the one empty
 *   chunk of an empty input) run the same 4-lane code with per-lane block counts, lengths and
 *   flags; a lane whose chunk has ended keeps its CV through a bitselect.
 *
 * Two builds are embedded: one rotating with i8x16.relaxed_swizzle (relaxed SIMD: Deno, Chrome)
 * and one with plain i8x16.swizzle for engines without relaxed SIMD.
 *
 * Run with `deno task build:wasm`.
 *
 * @module
 */

import wabtInit from "wabt";
import { encodeBase64 } from "../src/blake3/wasm/base64.ts";
import {
  BLOCK_LEN,
  CHUNK_END,
  CHUNK_LEN,
  CHUNK_START,
  IV,
  MSG_SCHEDULE,
  PARENT,
} from "../src/blake3/constants.ts";

// ---------------------------------------------------------------------------------------------
// Memory layout: fixed, so that the JS side only copies input in and CVs out.

/** Input bytes live at [0, 1 MiB): chunk c starts at c·1024. */
export const INPUT_OFFSET = 0;
/** Largest input: 2^10 chunks. */
export const INPUT_BYTES = 1 << 20;
/**
 * Chunk CVs, 32 bytes each, reduced in place; on return the subtree CVs are its first `count`
 * entries, so this is also the output region the JS side copies from.
 */
export const CV_OFFSET = INPUT_OFFSET + INPUT_BYTES;
/** 1024 chunk CVs. */
export const CV_BYTES = (INPUT_BYTES / CHUNK_LEN) * 32;
/** The byte masks of rotr 16 and rotr 8 (a data segment). */
export const MASK_OFFSET = CV_OFFSET + CV_BYTES;
const PAGES = Math.ceil((MASK_OFFSET + 32) / 65536);

// ---------------------------------------------------------------------------------------------
// Options. The generator can emit the variants that were measured against each other (V8 on
// x64); the defaults are the fastest.

/**
 * How to rotate by 16 and 8 bits, which move whole bytes:
 * - "relaxed": i8x16.relaxed_swizzle with the mask in a local: a single pshufb on x64, `tbl` on
 *   arm64. Deterministic here, since relaxed swizzle only differs for mask bytes ≥ 16.
 * - "swizzle": i8x16.swizzle with the mask in a local; V8 adds a saturating add to the mask
 *   first (about 5% slower overall).
 * - "shuffle": i8x16.shuffle; V8 rebuilds the rotr 8 mask from immediates at every use (four
 *   more instructions; about 15% slower overall).
 * Shifts and an or (three instructions) measured slower than all three.
 */
export type RotStyle = "relaxed" | "swizzle" | "shuffle";

export interface GenOptions {
  rot: RotStyle;
  /**
   * Independent 4-chunk groups hashed in one instruction stream by the hot loop. A compression
   * is a long chain of dependent operations and V8 spills part of the state (16 state + 16
   * message vectors do not fit in 16 xmm registers), adding load latency to that chain; a second
   * group gives the CPU independent work for those cycles: 2 groups measured ~10% faster than
   * 1, 3 slightly slower than 2, 4 much slower.
   */
  groups: number;
  /**
   * Compute a + b + m as (a + m) + b: b is the value computed last, so this takes an add off the
   * dependency chain (V8 does not reassociate); measured ~8% faster.
   */
  reassociate: boolean;
  /**
   * With several groups: emit each group's half-round in turn ("half") and leave the overlap to
   * the CPU's out-of-order window, or interleave the steps of all groups' Gs ("step"), which
   * keeps more values live and spills more (~3% slower).
   */
  interleave: "half" | "step";
}

export const DEFAULT_OPTIONS: GenOptions = {
  rot: "relaxed",
  groups: 2,
  reassociate: true,
  interleave: "half",
};

/** The build for engines without relaxed SIMD (Safari, older Firefox). */
export const PLAIN_OPTIONS: GenOptions = { ...DEFAULT_OPTIONS, rot: "swizzle" };

// ---------------------------------------------------------------------------------------------
// WAT helpers. Everything is emitted in folded (s-expression) form, one statement a line.

const get = (name: string) => `(local.get $${name})`;
const set = (name: string, expr: string) => `(local.set $${name} ${expr})`;
const i32 = (n: number) => `(i32.const ${n})`;
const splat = (expr: string) => `(i32x4.splat ${expr})`;
const splatConst = (n: number) => `(v128.const i32x4 ${n >>> 0} ${n >>> 0} ${n >>> 0} ${n >>> 0})`;
const add = (a: string, b: string) => `(i32x4.add ${a} ${b})`;
const xor = (a: string, b: string) => `(v128.xor ${a} ${b})`;
const shuffle = (bytes: number[], a: string, b: string) =>
  `(i8x16.shuffle ${bytes.join(" ")} ${a} ${b})`;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const indent = (lines: string[]) => lines.map((l) => `  ${l}`);

/** `while (cond) body` as a block around a loop. */
function whileLoop(label: string, cond: string, body: string[]): string[] {
  return [
    `(block $${label}Done (loop $${label}`,
    ...indent([`(br_if $${label}Done (i32.eqz ${cond}))`, ...body, `(br $${label})`]),
    "))",
  ];
}

/** A function; its local declarations wrapped at about 100 columns. */
function func(name: string, signature: string, locals: string[], body: string[]): string {
  const lines: string[] = [];
  for (const local of locals) {
    if (lines.length > 0 && lines[lines.length - 1].length + local.length < 98) {
      lines[lines.length - 1] += ` ${local}`;
    } else {
      lines.push(local);
    }
  }
  return [`(func $${name} ${signature}`, ...indent([...lines, ...body]), ")"].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Rotations.

/** Byte mask rotating each little-endian 32-bit lane right by n = 8 or 16 bits. */
function rotMask(n: 8 | 16): number[] {
  return range(16).map((i) => (i & ~3) | ((i + n / 8) & 3));
}

/** Statements setting `x = rotr32(x, n)` lane-wise. */
function rotr(x: string, n: 16 | 12 | 8 | 7, o: GenOptions): string[] {
  if (n === 12 || n === 7) {
    // WebAssembly has no SIMD rotate: two shifts and an or.
    return [
      set(x, `(v128.or (i32x4.shr_u ${get(x)} ${i32(n)}) (i32x4.shl ${get(x)} ${i32(32 - n)}))`),
    ];
  }
  if (o.rot === "shuffle") return [set(x, shuffle(rotMask(n), get(x), get(x)))];
  const op = o.rot === "relaxed" ? "i8x16.relaxed_swizzle" : "i8x16.swizzle";
  return [set(x, `(${op} ${get(x)} ${get(`rot${n}`)})`)];
}

/** The masks as a data segment at MASK_OFFSET: rotr 16, then rotr 8. */
function maskData(): string {
  const hex = (b: number) => "\\" + b.toString(16).padStart(2, "0");
  return `(data (i32.const ${MASK_OFFSET}) "${[...rotMask(16), ...rotMask(8)].map(hex).join("")}")`;
}

/**
 * Loads the masks into locals once per call: values V8 keeps in a register (or reloads with one
 * load), where a v128.const operand would be rebuilt from immediates at every use.
 */
function loadMasks(o: GenOptions): string[] {
  if (o.rot === "shuffle") return [];
  return [
    set("rot16", `(v128.load ${i32(MASK_OFFSET)})`),
    set("rot8", `(v128.load ${i32(MASK_OFFSET + 16)})`),
  ];
}

// ---------------------------------------------------------------------------------------------
// The compression function over locals: group g's state word i is $s{i}_{g}, message word i is
// $m{i}_{g}, chaining value word i is $h{i}_{g}; lane k of each belongs to the group's input k.

const S = (i: number, g: number) => `s${i}_${g}`;
const M = (i: number, g: number) => `m${i}_${g}`;
const H = (i: number, g: number) => `h${i}_${g}`;

/**
 * The G function (paper §2.2) on state words a, b, c, d with message words mx, my, as eight
 * steps, so that the caller can emit step k of independent Gs next to each other.
 */
function gSteps([a, b, c, d]: string[], mx: string, my: string, o: GenOptions): string[][] {
  const addAB = (m: string) =>
    o.reassociate ? add(add(get(a), get(m)), get(b)) : add(add(get(a), get(b)), get(m));
  return [
    [set(a, addAB(mx))],
    [set(d, xor(get(d), get(a))), ...rotr(d, 16, o)],
    [set(c, add(get(c), get(d)))],
    [set(b, xor(get(b), get(c))), ...rotr(b, 12, o)],
    [set(a, addAB(my))],
    [set(d, xor(get(d), get(a))), ...rotr(d, 8, o)],
    [set(c, add(get(c), get(d)))],
    [set(b, xor(get(b), get(c))), ...rotr(b, 7, o)],
  ];
}

const COLUMNS = [[0, 4, 8, 12], [1, 5, 9, 13], [2, 6, 10, 14], [3, 7, 11, 15]];
const DIAGONALS = [[0, 5, 10, 15], [1, 6, 11, 12], [2, 7, 8, 13], [3, 4, 9, 14]];

/**
 * The seven rounds of `groups` independent 4-lane compressions. Each round is four column Gs
 * then four diagonal Gs, with message words picked by the schedule at generation time. The four
 * Gs of a half-round are independent, so their steps are interleaved.
 */
function rounds(groups: number, o: GenOptions): string[] {
  const out: string[] = [];
  for (let r = 0; r < 7; r++) {
    const sched = MSG_SCHEDULE[r];
    for (const [half, quads] of [[0, COLUMNS], [8, DIAGONALS]] as const) {
      const byGroup = range(groups).map((g) =>
        quads.map((quad, q) =>
          gSteps(
            quad.map((i) => S(i, g)),
            M(sched[half + 2 * q], g),
            M(sched[half + 2 * q + 1], g),
            o,
          )
        )
      );
      const units = o.interleave === "step" ? [byGroup.flat()] : byGroup;
      out.push(`;; round ${r}, ${half === 0 ? "columns" : "diagonals"}`);
      for (const gs of units) {
        for (let step = 0; step < 8; step++) for (const g of gs) out.push(...g[step]);
      }
    }
  }
  return out;
}

// A 4×4 transpose of 32-bit lanes in two stages of i8x16.shuffle, which V8 lowers to unpack
// instructions: interleave the 32-bit lanes of row pairs, then the 64-bit halves of the results.
const UNPACK_LO_32 = [0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23];
const UNPACK_HI_32 = [8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31];
const UNPACK_LO_64 = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
const UNPACK_HI_64 = [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31];

/**
 * Transposes four rows (expressions a, b, c, d) into locals dst[0..3]: dst[i] lane k = word i of
 * row k. Uses locals $t0..$t3.
 */
function transpose(rows: string[], dst: string[]): string[] {
  const t = range(4).map((i) => `t${i}`);
  return [
    ...rows.map((row, i) => set(t[i], row)),
    set(dst[0], shuffle(UNPACK_LO_32, get(t[0]), get(t[1]))), // a0 b0 a1 b1
    set(dst[1], shuffle(UNPACK_HI_32, get(t[0]), get(t[1]))), // a2 b2 a3 b3
    set(dst[2], shuffle(UNPACK_LO_32, get(t[2]), get(t[3]))), // c0 d0 c1 d1
    set(dst[3], shuffle(UNPACK_HI_32, get(t[2]), get(t[3]))), // c2 d2 c3 d3
    set(t[0], shuffle(UNPACK_LO_64, get(dst[0]), get(dst[2]))), // a0 b0 c0 d0
    set(t[1], shuffle(UNPACK_HI_64, get(dst[0]), get(dst[2]))), // a1 b1 c1 d1
    set(t[2], shuffle(UNPACK_LO_64, get(dst[1]), get(dst[3]))), // a2 b2 c2 d2
    set(t[3], shuffle(UNPACK_HI_64, get(dst[1]), get(dst[3]))), // a3 b3 c3 d3
    ...dst.map((d, i) => set(d, get(t[i]))),
  ];
}

/**
 * Loads the current block (at `ptr`) of group g's four inputs, `stride` bytes apart, and
 * transposes it into the group's message words: 16 loads and 32 shuffles per block, instead of
 * 64 single-lane loads.
 */
function loadMessage(ptr: string, stride: number, g: number): string[] {
  return range(4).flatMap((q) =>
    transpose(
      range(4).map((k) => `(v128.load offset=${(4 * g + k) * stride + 16 * q} ${get(ptr)})`),
      range(4).map((i) => M(4 * q + i, g)),
    )
  );
}

/** Sets group g's state for compressing its CV with the given counter, length and flags. */
function initState(g: number, ctrLo: string, ctrHi: string, len: string, flags: string): string[] {
  return [
    ...range(8).map((i) => set(S(i, g), get(H(i, g)))),
    ...range(4).map((i) => set(S(8 + i, g), splatConst(IV[i]))),
    set(S(12, g), ctrLo),
    set(S(13, g), ctrHi),
    set(S(14, g), len),
    set(S(15, g), flags),
  ];
}

/** Word i of group g's new chaining value: the first half of the compression output. */
const newCv = (g: number, i: number) => xor(get(S(i, g)), get(S(i + 8, g)));

/**
 * Transposes group g's CV words back to one CV per lane and stores lane k at out + 32·(4g + k);
 * with `count`, only the lanes below it. The message locals serve as scratch.
 */
function storeCvs(g: number, count: string | null): string[] {
  const lo = range(4).map((k) => M(k, g));
  const hi = range(4).map((k) => M(4 + k, g));
  const code = [
    ...transpose(range(4).map((i) => get(H(i, g))), lo),
    ...transpose(range(4).map((i) => get(H(4 + i, g))), hi),
  ];
  for (let k = 0; k < 4; k++) {
    const lane = 4 * g + k;
    const stores = [
      `(v128.store offset=${32 * lane} ${get("out")} ${get(lo[k])})`,
      `(v128.store offset=${32 * lane + 16} ${get("out")} ${get(hi[k])})`,
    ];
    if (count === null || lane === 0) code.push(...stores);
    else code.push(`(if (i32.gt_u ${get(count)} ${i32(lane)}) (then ${stores.join(" ")}))`);
  }
  return code;
}

/** Group g's lane counters: (hi:lo) + 4g + k, the carry out of the low word added to the high. */
function laneCounters(g: number): string[] {
  const lanes = range(4).map((k) => 4 * g + k).join(" ");
  return [
    set(`ctrLo_${g}`, add(splat(get("lo")), `(v128.const i32x4 ${lanes})`)),
    // i32x4.lt_u is -1 in a lane whose low word wrapped: subtracting it adds the carry.
    set(
      `ctrHi_${g}`,
      `(i32x4.sub ${splat(get("hi"))} (i32x4.lt_u ${get(`ctrLo_${g}`)} ${splat(get("lo"))}))`,
    ),
  ];
}

type Kind = "chunks" | "tail" | "parents";

const PARAMS: Record<Kind, string> = {
  chunks: "(param $in i32) (param $out i32) (param $lo i32) (param $hi i32)",
  tail: "(param $in i32) (param $out i32) (param $lo i32) (param $hi i32) (param $rem i32) " +
    "(param $count i32)",
  parents: "(param $in i32) (param $out i32) (param $count i32)",
};

/**
 * One hashing function over `4 · groups` inputs, named `${kind}${4 · groups}`:
 *
 * - "chunks" `(in, out, lo, hi)`: the whole chunks at in + 1024·j with chunk counters
 *   (hi:lo) + j; CVs stored contiguously at out. The hot loop of the module.
 * - "tail" `(in, out, lo, hi, rem, count)`: up to four chunks, the `rem` bytes from in, the last
 *   possibly partial or, for an empty input, empty; stores `count` CVs. Lane k's chunk has
 *   len_k = clamp(rem − 1024·k, 0, 1024) bytes in nb_k = max(1, ceil(len_k / 64)) blocks, the
 *   last one len_k − 64·(nb_k − 1) bytes long (zero-padded in memory by the caller). Every lane
 *   runs nb_0 (the most) blocks and a lane past its last block keeps its CV through a bitselect,
 *   so one pass serves any mix of lengths.
 * - "parents" `(in, out, count)`: `count` parents whose 64-byte blocks (left CV ‖ right CV) are
 *   contiguous at in; CVs stored contiguously at out, which may equal in (every block is read
 *   before anything is written). Counter 0, block length 64, flags PARENT.
 */
function hashFunction(kind: Kind, groups: number, o: GenOptions): string {
  const gs = range(groups);
  const v128Locals = [
    ...gs.flatMap((g) => [
      ...range(16).map((i) => S(i, g)),
      ...range(16).map((i) => M(i, g)),
      ...range(8).map((i) => H(i, g)),
      `ctrLo_${g}`,
      `ctrHi_${g}`,
    ]),
    ...["t0", "t1", "t2", "t3", "rot16", "rot8", "flags", "len", "nb", "lastLen", "active", "end"],
  ];
  const locals = [
    ...v128Locals.map((n) => `(local $${n} v128)`),
    ...["p", "b", "nbMax"].map((n) => `(local $${n} i32)`),
  ];

  const body: string[] = [
    ...loadMasks(o),
    ...gs.flatMap((g) => Array.from(IV, (w, i) => set(H(i, g), splatConst(w)))),
  ];
  if (kind !== "parents") body.push(...gs.flatMap(laneCounters));
  if (kind === "tail") {
    body.push(
      set(
        "len",
        `(i32x4.min_s (i32x4.max_s (i32x4.sub ${splat(get("rem"))} ` +
          `(v128.const i32x4 0 1024 2048 3072)) ${splatConst(0)}) ${splatConst(CHUNK_LEN)})`,
      ),
      set(
        "nb",
        `(i32x4.max_s (i32x4.shr_u ${add(get("len"), splatConst(63))} ${i32(6)}) ` +
          `${splatConst(1)})`,
      ),
      set(
        "lastLen",
        `(i32x4.sub ${get("len")} ` +
          `(i32x4.shl (i32x4.sub ${get("nb")} ${splatConst(1)}) ${i32(6)}))`,
      ),
      set("nbMax", `(i32x4.extract_lane 0 ${get("nb")})`),
    );
  }

  // One block of every lane.
  const block: string[] = gs.flatMap((g) =>
    loadMessage("p", kind === "parents" ? BLOCK_LEN : CHUNK_LEN, g)
  );
  let blockLen = splatConst(BLOCK_LEN);
  if (kind === "chunks") {
    // CHUNK_START on block 0, CHUNK_END on block 15, nothing in between.
    block.push(set(
      "flags",
      splat(
        `(i32.or (i32.mul (i32.eqz ${get("b")}) ${i32(CHUNK_START)}) ` +
          `(i32.mul (i32.eq ${get("b")} ${i32(CHUNK_LEN / BLOCK_LEN - 1)}) ${i32(CHUNK_END)}))`,
      ),
    ));
  } else if (kind === "tail") {
    block.push(
      set("active", `(i32x4.gt_s ${get("nb")} ${splat(get("b"))})`),
      set("end", `(i32x4.eq ${get("nb")} ${splat(`(i32.add ${get("b")} ${i32(1)})`)})`),
      set(
        "flags",
        `(v128.or ${splat(`(i32.mul (i32.eqz ${get("b")}) ${i32(CHUNK_START)})`)} ` +
          `(v128.and ${get("end")} ${splatConst(CHUNK_END)}))`,
      ),
    );
    blockLen = `(v128.bitselect ${get("lastLen")} ${splatConst(BLOCK_LEN)} ${get("end")})`;
  } else {
    block.push(set("flags", splatConst(PARENT)));
  }
  for (const g of gs) {
    const [lo, hi] = kind === "parents"
      ? [splatConst(0), splatConst(0)]
      : [get(`ctrLo_${g}`), get(`ctrHi_${g}`)];
    block.push(...initState(g, lo, hi, blockLen, get("flags")));
  }
  block.push(...rounds(groups, o));
  for (const g of gs) {
    for (let i = 0; i < 8; i++) {
      const cv = kind === "tail"
        ? `(v128.bitselect ${newCv(g, i)} ${get(H(i, g))} ${get("active")})`
        : newCv(g, i);
      block.push(set(H(i, g), cv));
    }
  }

  body.push(set("p", get("in")));
  if (kind === "parents") {
    body.push(...block);
  } else {
    const blocks = kind === "chunks" ? i32(CHUNK_LEN / BLOCK_LEN) : get("nbMax");
    body.push(
      set("b", i32(0)),
      "(loop $block",
      ...indent([
        ...block,
        set("p", `(i32.add ${get("p")} ${i32(BLOCK_LEN)})`),
        set("b", `(i32.add ${get("b")} ${i32(1)})`),
        `(br_if $block (i32.lt_u ${get("b")} ${blocks}))`,
      ]),
      ")",
    );
  }
  body.push(...gs.flatMap((g) => storeCvs(g, kind === "chunks" ? null : "count")));
  return func(`${kind}${4 * groups}`, PARAMS[kind], locals, body);
}

// ---------------------------------------------------------------------------------------------
// The export.

/**
 * `subtree_cvs(len, lo, hi, log) → count` over the `len` input bytes at INPUT_OFFSET, whose first
 * chunk has counter (hi:lo): chunk CVs 4·groups at a time, the rest four at a time, then `log`
 * levels of pairing with the odd CV carried up. Every complete subtree has an even number of
 * nodes on each level below its top, so pairs never straddle two subtrees: reducing the whole CV
 * array level by level reduces every subtree at once and leaves subtree g's CV at index g, so
 * the output is already compact at CV_OFFSET.
 */
function subtreeCvs(o: GenOptions): string {
  const wide = 4 * o.groups;
  const L = get;
  const plus = (a: string, b: string) => `(i32.add ${a} ${b})`;
  const cvAt = (idx: string) => plus(i32(CV_OFFSET), `(i32.shl ${idx} ${i32(5)})`);
  const chunkAt = (idx: string) => plus(i32(INPUT_OFFSET), `(i32.shl ${idx} ${i32(10)})`);
  /** The counter of chunk `idx`, as the two i32 arguments lo, hi. */
  const counter = (idx: string) => {
    const c = `(i64.add ${L("ctr")} (i64.extend_i32_u ${idx}))`;
    return `(i32.wrap_i64 ${c}) (i32.wrap_i64 (i64.shr_u ${c} (i64.const 32)))`;
  };
  const min4 = (n: string) => `(select ${i32(4)} ${n} (i32.gt_u ${n} ${i32(4)}))`;
  const lastCv = cvAt(`(i32.sub ${L("n")} ${i32(1)})`);
  const body = [
    ";; Zero the bytes after the input up to the next block boundary (a whole block for an",
    ";; empty input): the last block of the last chunk is then its own zero-padded block.",
    set("p", plus(i32(INPUT_OFFSET), L("len"))),
    set("e", `(i32.and ${plus(L("p"), i32(63))} ${i32(-64)})`),
    `(if (i32.eqz ${L("len")}) (then ${set("e", i32(INPUT_OFFSET + BLOCK_LEN))}))`,
    ...whileLoop("zero", `(i32.lt_u ${L("p")} ${L("e")})`, [
      `(i32.store8 ${L("p")} ${i32(0)})`,
      set("p", plus(L("p"), i32(1))),
    ]),
    set(
      "ctr",
      `(i64.or (i64.shl (i64.extend_i32_u ${L("hi")}) (i64.const 32)) ` +
        `(i64.extend_i32_u ${L("lo")}))`,
    ),
    set("full", `(i32.shr_u ${L("len")} ${i32(10)})`),
    set("chunks", `(i32.shr_u ${plus(L("len"), i32(CHUNK_LEN - 1))} ${i32(10)})`),
    `(if (i32.eqz ${L("chunks")}) (then ${set("chunks", i32(1))}))`,
    `;; Whole chunks, ${wide} at a time.`,
    set("i", i32(0)),
    ...whileLoop("whole", `(i32.le_u ${plus(L("i"), i32(wide))} ${L("full")})`, [
      `(call $chunks${wide} ${chunkAt(L("i"))} ${cvAt(L("i"))} ${counter(L("i"))})`,
      set("i", plus(L("i"), i32(wide))),
    ]),
    ";; The rest four at a time: whole chunks, then the partial (or empty) last chunk.",
    ...whileLoop("rest", `(i32.lt_u ${L("i")} ${L("chunks")})`, [
      `(call $tail4 ${chunkAt(L("i"))} ${cvAt(L("i"))} ${counter(L("i"))} ` +
      `(i32.sub ${L("len")} (i32.shl ${L("i")} ${i32(10)})) ` +
      `${min4(`(i32.sub ${L("chunks")} ${L("i")})`)})`,
      set("i", plus(L("i"), i32(4))),
    ]),
    ";; `log` levels of parents, in place.",
    set("n", L("chunks")),
    set("level", i32(0)),
    ...whileLoop(
      "levels",
      `(i32.and (i32.lt_u ${L("level")} ${L("log")}) (i32.gt_u ${L("n")} ${i32(1)}))`,
      [
        set("pairs", `(i32.shr_u ${L("n")} ${i32(1)})`),
        set("j", i32(0)),
        ...whileLoop("parents", `(i32.lt_u ${L("j")} ${L("pairs")})`, [
          `(call $parents4 ${plus(i32(CV_OFFSET), `(i32.shl ${L("j")} ${i32(6)})`)} ` +
          `${cvAt(L("j"))} ${min4(`(i32.sub ${L("pairs")} ${L("j")})`)})`,
          set("j", plus(L("j"), i32(4))),
        ]),
        ";; An odd last CV moves up a level unchanged, right after the parents.",
        `(if (i32.and ${L("n")} ${i32(1)}) (then`,
        `(v128.store ${cvAt(L("pairs"))} (v128.load ${lastCv}))`,
        `(v128.store offset=16 ${cvAt(L("pairs"))} (v128.load offset=16 ${lastCv}))))`,
        set("n", plus(L("pairs"), `(i32.and ${L("n")} ${i32(1)})`)),
        set("level", plus(L("level"), i32(1))),
      ],
    ),
    L("n"),
  ];
  return func(
    "subtree_cvs",
    '(export "subtree_cvs") (param $len i32) (param $lo i32) (param $hi i32) (param $log i32) ' +
      "(result i32)",
    [
      ...["p", "e", "full", "chunks", "i", "n", "level", "pairs", "j"].map((n) =>
        `(local $${n} i32)`
      ),
      "(local $ctr i64)",
    ],
    body,
  );
}

/** The whole module as WebAssembly text. */
export function generateWat(o: GenOptions = DEFAULT_OPTIONS): string {
  return [
    ";; BLAKE3 subtree chaining values, 4-way WebAssembly SIMD.",
    ";; GENERATED by scripts/build_wasm.ts (deno task build:wasm): edit the generator, not this.",
    `;; Options: ${JSON.stringify(o)}`,
    "(module",
    `(memory (export "memory") ${PAGES})`,
    maskData(),
    hashFunction("chunks", o.groups, o),
    hashFunction("tail", 1, o),
    hashFunction("parents", 1, o),
    subtreeCvs(o),
    ")",
    "",
  ].join("\n");
}

/** Assembles WAT into a validated binary. */
export async function assemble(wat: string): Promise<Uint8Array<ArrayBuffer>> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat("blake3_simd.wat", wat, { simd: true, relaxed_simd: true });
  try {
    mod.resolveNames();
    mod.validate();
    return new Uint8Array(mod.toBinary({ canonicalize_lebs: true }).buffer);
  } finally {
    mod.destroy();
  }
}

async function gzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The TS module that embeds the binaries. */
async function embedModule(
  relaxed: Uint8Array<ArrayBuffer>,
  plain: Uint8Array<ArrayBuffer>,
): Promise<string> {
  return [
    "// GENERATED by scripts/build_wasm.ts (deno task build:wasm): do not edit.",
    "",
    "/** Where the JS side copies input in and subtree CVs out (see scripts/build_wasm.ts). */",
    `export const INPUT_OFFSET = ${INPUT_OFFSET};`,
    `export const CV_OFFSET = ${CV_OFFSET};`,
    "",
    `/** blake3_simd.wat (${relaxed.length} bytes), gzipped, base64. */`,
    `export const BLAKE3_SIMD_RELAXED_WASM_GZ =\n  "${encodeBase64(await gzip(relaxed))}";`,
    "",
    "/** The same with i8x16.swizzle in place of i8x16.relaxed_swizzle " +
    `(${plain.length} bytes), gzipped, base64. */`,
    `export const BLAKE3_SIMD_PLAIN_WASM_GZ =\n  "${encodeBase64(await gzip(plain))}";`,
    "",
  ].join("\n");
}

if (import.meta.main) {
  const dir = new URL("../src/blake3/wasm/", import.meta.url);
  const wat = generateWat(DEFAULT_OPTIONS);
  const relaxed = await assemble(wat);
  const plain = await assemble(generateWat(PLAIN_OPTIONS));
  await Deno.writeTextFile(new URL("blake3_simd.wat", dir), wat);
  await Deno.writeTextFile(new URL("blake3_simd_wasm.ts", dir), await embedModule(relaxed, plain));
  console.log(
    `blake3_simd.wat: ${wat.split("\n").length} lines; binaries: ${relaxed.length} bytes ` +
      `(relaxed SIMD), ${plain.length} bytes (SIMD)`,
  );
}
