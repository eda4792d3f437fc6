/**
 * Verifying writes at ingestion speed: `isAuthorisedWrite` (Meadowcap's `is_authorised_write`
 * plus the namespace check) with each capability's validity checked once. A store sees the same
 * few capabilities authorise thousands of entries; their chains (one signature per delegation,
 * plus an owned capability's initial authorisation) need verifying once, leaving one signature
 * per entry: the entry's own.
 *
 * Only an `AuthorisedEntry` enters a store, and only `WriteVerifier.authorise` makes one, so
 * holding one means the write was verified.
 *
 * @module
 */

import { toHex } from "../blake3/hash.ts";
import { hash } from "../blake3/tree.ts";
import { encode } from "./codec.ts";
import type { Entry } from "./entry.ts";
import { writeEntry } from "./entry_encoding.ts";
import type { Signature } from "./keys.ts";
import { writeMcCapability } from "./capability_encoding.ts";
import { isAuthorisedWrite, isValidCapability, type McCapability } from "./meadowcap.ts";

declare const authorisedBrand: unique symbol;

/** An entry with its authorisation token, verified by `WriteVerifier.authorise`. */
export interface AuthorisedEntry {
  readonly entry: Entry;
  /** `encode_entry(entry)`: what the signature covers. */
  readonly encoded: Uint8Array;
  readonly capability: McCapability;
  /** The canonic `encode_mc_capability(capability)`. */
  readonly capabilityBytes: Uint8Array;
  /** BLAKE3 of `capabilityBytes`: the capability's id in the stores. */
  readonly capabilityId: Uint8Array;
  readonly signature: Signature;
  readonly [authorisedBrand]: true;
}

interface Known {
  readonly bytes: Uint8Array;
  readonly id: Uint8Array;
  valid?: Promise<boolean>;
}

/** How many capabilities' validity is remembered before the memory is cleared. */
const CACHE_LIMIT = 4096;

export class WriteVerifier {
  /** By capability object, so a caller reusing one object skips even the encoding. */
  readonly #byObject = new WeakMap<McCapability, Known>();
  /** By canonic encoding, for capabilities decoded afresh from each request. */
  readonly #byEncoding = new Map<string, Known>();

  #known(cap: McCapability): Known {
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

  /** The entry as an `AuthorisedEntry` if the token authorises it, else `undefined`. */
  async authorise(
    entry: Entry,
    capability: McCapability,
    signature: Signature,
  ): Promise<AuthorisedEntry | undefined> {
    const known = this.#known(capability);
    const encoded = encode((w) => writeEntry(w, entry));
    const ok = await isAuthorisedWrite(entry, { capability, signature }, {
      encodedEntry: encoded,
      isValid: (cap) => (known.valid ??= isValidCapability(cap)),
    });
    if (!ok) return undefined;
    return {
      entry,
      encoded,
      capability,
      capabilityBytes: known.bytes,
      capabilityId: known.id,
      signature,
    } as AuthorisedEntry;
  }
}
