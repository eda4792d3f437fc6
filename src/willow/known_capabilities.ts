/**
 * Capabilities seen before, with their canonic encoding, id and validity, so that a chain (one
 * signature per delegation, plus an owned capability's initial authorisation) is verified once
 * however many entries or read requests it authorises: a store sees the same few capabilities
 * thousands of times, and a reader sends the same one with every request.
 *
 * @module
 */

import { toHex } from "../blake3/hash.ts";
import { hash } from "../blake3/tree.ts";
import { writeMcCapability } from "./capability_encoding.ts";
import { encode } from "./codec.ts";
import { isValidCapability, type McCapability } from "./meadowcap.ts";

export interface KnownCapability {
  /** The canonic `encode_mc_capability`. */
  readonly bytes: Uint8Array;
  /** BLAKE3 of `bytes`: the capability's id in the stores. */
  readonly id: Uint8Array;
  valid?: Promise<boolean>;
}

/** How many capabilities are remembered before the memory is cleared. */
const CACHE_LIMIT = 4096;

export class KnownCapabilities {
  /** By capability object, so a caller reusing one object skips even the encoding. */
  readonly #byObject = new WeakMap<McCapability, KnownCapability>();
  /** By canonic encoding, for capabilities decoded afresh from each request. */
  readonly #byEncoding = new Map<string, KnownCapability>();

  get(cap: McCapability): KnownCapability {
    const cached = this.#byObject.get(cap);
    if (cached !== undefined) return cached;
    const bytes = encode((w) => writeMcCapability(w, cap));
    const hex = toHex(bytes);
    let known = this.#byEncoding.get(hex);
    if (known === undefined) {
      if (this.#byEncoding.size >= CACHE_LIMIT) this.#byEncoding.clear();
      known = { bytes, id: hash(bytes) };
      this.#byEncoding.set(hex, known);
    }
    this.#byObject.set(cap, known);
    return known;
  }

  /** `isValidCapability`, once per capability (a check that failed to run is not remembered). */
  isValid(cap: McCapability): Promise<boolean> {
    const known = this.get(cap);
    if (known.valid === undefined) {
      const valid = isValidCapability(cap);
      known.valid = valid;
      valid.catch(() => {
        if (known.valid === valid) known.valid = undefined;
      });
    }
    return known.valid;
  }
}
