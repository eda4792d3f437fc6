/**
 * Willow paths (willowprotocol.org `data_model.tsx`, "Paths"): sequences of at most
 * `MAX_COMPONENT_COUNT` byte-string components, each at most `MAX_COMPONENT_LENGTH` bytes, with at
 * most `MAX_PATH_LENGTH` bytes in all.
 *
 * Paths are ordered lexicographically by component (each component bytewise, a proper prefix
 * first), and `s` is a prefix of `t` when `t`'s first components are exactly `s`'s: `a` is a
 * prefix of `a/b` but not of `ab`. A `Path` can only be made by `pathFrom` (and the decoders), so
 * holding one means its limits were checked. Treat its components as immutable.
 *
 * @module
 */

import { InvalidWillowValueError } from "./errors.ts";
import { MAX_COMPONENT_COUNT, MAX_COMPONENT_LENGTH, MAX_PATH_LENGTH } from "./params.ts";

declare const pathBrand: unique symbol;
/** A path within the Willow'25 limits. */
export type Path = readonly Uint8Array[] & { readonly [pathBrand]: true };

/** The path of zero components: a prefix of every path, and the least path. */
export const EMPTY_PATH: Path = Object.freeze([]) as unknown as Path;

/** Total bytes of all components. */
export function pathLength(p: readonly Uint8Array[]): number {
  let n = 0;
  for (const c of p) n += c.length;
  return n;
}

/**
 * Brands `components` as a path after checking the limits; takes ownership of the array and its
 * components (decoders hand over fresh copies).
 */
export function pathOf(components: Uint8Array[]): Path {
  if (components.length > MAX_COMPONENT_COUNT) {
    throw new InvalidWillowValueError(
      `a path has at most ${MAX_COMPONENT_COUNT} components, got ${components.length}`,
    );
  }
  for (const c of components) {
    if (c.length > MAX_COMPONENT_LENGTH) {
      throw new InvalidWillowValueError(
        `a component has at most ${MAX_COMPONENT_LENGTH} bytes, got ${c.length}`,
      );
    }
  }
  const total = pathLength(components);
  if (total > MAX_PATH_LENGTH) {
    throw new InvalidWillowValueError(`a path has at most ${MAX_PATH_LENGTH} bytes, got ${total}`);
  }
  return Object.freeze(components) as unknown as Path;
}

/** A path of copies of `components`; throws `InvalidWillowValueError` past the limits. */
export function pathFrom(components: readonly Uint8Array[]): Path {
  return pathOf(components.map((c) => c.slice()));
}

/** A path of UTF-8 encoded names: `pathFromStrings("blog", "idea")` is `blog/idea`. */
export function pathFromStrings(...names: string[]): Path {
  const utf8 = new TextEncoder();
  return pathOf(names.map((n) => utf8.encode(n)));
}

/** Bytewise order of components, a proper prefix first. */
export function compareComponents(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Willow's path order: lexicographic by component, a proper prefix first. */
export function comparePaths(a: Path, b: Path): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareComponents(a[i], b[i]);
    if (c !== 0) return c;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

export function pathsEqual(a: Path, b: Path): boolean {
  return a.length === b.length && commonPrefixCount(a, b) === a.length;
}

/** How many leading components `a` and `b` share. */
export function commonPrefixCount(a: readonly Uint8Array[], b: readonly Uint8Array[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && compareComponents(a[i], b[i]) === 0) i++;
  return i;
}

/** Whether `prefix` is a prefix of `p` (every path is a prefix of itself). */
export function isPrefixOf(prefix: Path, p: Path): boolean {
  return prefix.length <= p.length && commonPrefixCount(prefix, p) === prefix.length;
}

/** Whether one of the two is a prefix of the other ("related" paths). */
export function pathsRelated(a: Path, b: Path): boolean {
  return commonPrefixCount(a, b) === Math.min(a.length, b.length);
}

/**
 * The least path greater than `p` that does not have `p` as a prefix, or `undefined` if there is
 * none (`p` is empty, or no component can grow). `[p, greaterButNotPrefixed(p))` is the path
 * range of exactly the extensions of `p`: how an area's path becomes a 3dRange
 * (willowprotocol.org `grouping_entries.tsx`; willow-rs `Path::greater_but_not_prefixed`).
 *
 * Working from the last component back: the least component greater than `c` is `c` with a zero
 * byte appended when the limits leave room for one byte more (counting only components up to
 * `c`, as later ones are dropped), and otherwise `c` without its trailing 0xff bytes and with its
 * last other byte incremented.
 */
export function greaterButNotPrefixed(p: Path): Path | undefined {
  let before = pathLength(p);
  for (let i = p.length - 1; i >= 0; i--) {
    const c = p[i];
    before -= c.length;
    let next: Uint8Array | undefined;
    if (c.length < MAX_COMPONENT_LENGTH && before + c.length < MAX_PATH_LENGTH) {
      next = new Uint8Array(c.length + 1);
      next.set(c);
    } else {
      let k = c.length - 1;
      while (k >= 0 && c[k] === 0xff) k--;
      if (k >= 0) {
        next = c.slice(0, k + 1);
        next[k]++;
      }
    }
    if (next !== undefined) return pathOf([...p.slice(0, i), next]);
  }
  return undefined;
}

/**
 * The least path greater than `p` (willow-rs `Path::successor`), or `undefined` for the greatest
 * path: `p` with an empty component appended when there is room for one more component, else the
 * least greater path that is no extension of `p`. `[p, successor(p))` contains `p` alone.
 */
export function pathSuccessor(p: Path): Path | undefined {
  if (p.length < MAX_COMPONENT_COUNT) return pathOf([...p, new Uint8Array(0)]);
  return greaterButNotPrefixed(p);
}
