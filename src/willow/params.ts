/**
 * The Willow'25 parameters this gateway instantiates Willow and Meadowcap with, as chosen by the
 * `willow_25` crate of earthstar-project/willow-rs (`willow_25/src/lib.rs`), which the official
 * Willow test vectors were generated with.
 *
 * The Willow'25 spec page (willowprotocol.org `willow25.tsx`) currently says 4096 for all three
 * path limits and WILLIAM3 for digests; the crate (and so every implementation that can be tested
 * against the vectors) uses 1024 and BLAKE3. We follow the crate: the vectors' `nay` cases
 * depend on the 1024 limits, and BLAKE3 digests are what the gateway's blob store already
 * addresses payloads by.
 *
 * @module
 */

/** `max_component_length`: bytes in one path component (willow_25 `MCL25`). */
export const MAX_COMPONENT_LENGTH = 1024;
/** `max_component_count`: components in one path (willow_25 `MCC25`). */
export const MAX_COMPONENT_COUNT = 1024;
/** `max_path_length`: bytes in all components of one path together (willow_25 `MPL25`). */
export const MAX_PATH_LENGTH = 1024;

/** Ed25519 public keys (namespace ids, subspace ids, user keys) are 32 raw bytes. */
export const PUBLIC_KEY_LENGTH = 32;
/** Ed25519 signatures are 64 raw bytes (Willow'25 `encode_*_sig` is the identity). */
export const SIGNATURE_LENGTH = 64;
/** BLAKE3 payload digests are 32 bytes. */
export const DIGEST_LENGTH = 32;

/** 2^64 − 1: the greatest u64, the largest timestamp, and "no limit" for areas of interest. */
export const U64_MAX = 0xffff_ffff_ffff_ffffn;
