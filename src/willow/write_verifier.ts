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

import { encode } from "./codec.ts";
import type { Entry } from "./entry.ts";
import { writeEntry } from "./entry_encoding.ts";
import type { Signature } from "./keys.ts";
import { KnownCapabilities } from "./known_capabilities.ts";
import { isAuthorisedWrite, type McCapability } from "./meadowcap.ts";

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

export class WriteVerifier {
  readonly #known = new KnownCapabilities();

  /** The entry as an `AuthorisedEntry` if the token authorises it, else `undefined`. */
  async authorise(
    entry: Entry,
    capability: McCapability,
    signature: Signature,
  ): Promise<AuthorisedEntry | undefined> {
    const known = this.#known.get(capability);
    const encoded = encode((w) => writeEntry(w, entry));
    const ok = await isAuthorisedWrite(entry, { capability, signature }, {
      encodedEntry: encoded,
      isValid: (cap) => this.#known.isValid(cap),
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
