/**
 * The capability store: the capabilities the gateway minted for itself or delegated, by
 * namespace, receiver and access mode, so that it can pick one to sign a write or a further
 * delegation with (as iroh-willow's `CapsStorage` does with its `CapSelector`).
 *
 * Capabilities are stored in their canonic `encode_mc_capability` form under their id (BLAKE3 of
 * that form), so storing one twice changes nothing.
 *
 * @module
 */

import { hash } from "../../blake3/tree.ts";
import type { Area } from "../area.ts";
import { readMcCapability, writeMcCapability } from "../capability_encoding.ts";
import { decode, encode } from "../codec.ts";
import type { NamespaceId, UserPublicKey } from "../keys.ts";
import { type AccessMode, grantedArea, type McCapability, receiver } from "../meadowcap.ts";
import { keys } from "./layout.ts";

export class CapabilityStore {
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Stores `cap` under its namespace, receiver and mode; returns its canonic encoding. */
  async add(cap: McCapability): Promise<Uint8Array> {
    const bytes = encode((w) => writeMcCapability(w, cap));
    await this.#kv.set(
      keys.capability(cap.namespaceKey, receiver(cap), cap.accessMode, hash(bytes)),
      bytes,
    );
    return bytes;
  }

  /** Every stored capability of `namespace` with this receiver and mode. */
  async list(
    namespace: NamespaceId,
    to: UserPublicKey,
    mode: AccessMode,
  ): Promise<McCapability[]> {
    const out: McCapability[] = [];
    const prefix = keys.capabilities(namespace, to, mode);
    for await (const e of this.#kv.list<Uint8Array>({ prefix })) {
      // The gateway wrote these bytes itself.
      out.push(decode(e.value, readMcCapability, { canonic: false, trusted: true }));
    }
    return out;
  }

  /**
   * The widest stored capability (the fewest delegations) of `namespace` for `to` in `mode`
   * whose granted area `covers` accepts, or `undefined`.
   */
  async select(
    namespace: NamespaceId,
    to: UserPublicKey,
    mode: AccessMode,
    covers: (granted: Area) => boolean,
  ): Promise<McCapability | undefined> {
    const fitting = (await this.list(namespace, to, mode)).filter((c) => covers(grantedArea(c)));
    fitting.sort((a, b) => a.delegations.length - b.delegations.length);
    return fitting[0];
  }
}
