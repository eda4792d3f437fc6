/**
 * The worker side of `VerifyPool`: WebCrypto Ed25519 verification of batches, answering with
 * one byte per signature (see `VerifyResults`: an exception is not an answer, so it is reported
 * as such and the caller verifies that one itself). Only the curve arithmetic runs here; the strict checks
 * that Willow'25 adds stay with the caller (`keys.ts`), before a batch is sent.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import { INVALID, UNANSWERED, VALID, type VerifyBatch, type VerifyResults } from "./verify_pool.ts";

const keys = new Map<string, Promise<CryptoKey>>();
const KEY_LIMIT = 4096;

function verifyingKey(publicKey: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const id = publicKey.join();
  let key = keys.get(id);
  if (key === undefined) {
    if (keys.size >= KEY_LIMIT) keys.clear();
    key = crypto.subtle.importKey("raw", publicKey, "Ed25519", false, ["verify"]);
    keys.set(id, key);
    // A key that failed to import is not remembered as failed.
    key.catch(() => {
      if (keys.get(id) === key) keys.delete(id);
    });
  }
  return key;
}

self.onmessage = async (event: MessageEvent<VerifyBatch>) => {
  const { id, publicKeys, signatures, messages } = event.data;
  const valid = new Uint8Array(publicKeys.length);
  await Promise.all(publicKeys.map(async (publicKey, i) => {
    try {
      const key = await verifyingKey(publicKey);
      const ok = await crypto.subtle.verify("Ed25519", key, signatures[i], messages[i]);
      valid[i] = ok ? VALID : INVALID;
    } catch {
      valid[i] = UNANSWERED;
    }
  }));
  self.postMessage({ id, valid } satisfies VerifyResults);
};
