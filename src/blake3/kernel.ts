/**
 * Which backend computes subtree CVs: WebAssembly SIMD where the runtime validates it (Deno,
 * Deno Deploy, current browsers), the portable TypeScript path elsewhere.
 *
 * @module
 */

import type { Blake3Backend } from "./backend.ts";
import { portableBackend } from "./portable.ts";
import { loadSimdBackend } from "./simd.ts";

const simd: Blake3Backend | undefined = await loadSimdBackend();
let active: Blake3Backend = simd ?? portableBackend;

/** The backend in use. */
export function kernel(): Blake3Backend {
  return active;
}

/** Every backend this runtime can run, fastest first: tests check that they agree. */
export function availableBackends(): Blake3Backend[] {
  return simd ? [simd, portableBackend] : [portableBackend];
}

/** Runs `fn` with `backend` in use, restoring the previous one afterwards. */
export async function withBackend<T>(backend: Blake3Backend, fn: () => T | Promise<T>): Promise<T> {
  const previous = active;
  active = backend;
  try {
    return await fn();
  } finally {
    active = previous;
  }
}
