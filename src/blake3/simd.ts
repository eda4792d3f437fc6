import type { Blake3Backend } from "./backend.ts";

// deno-lint-ignore require-await
export async function loadSimdBackend(): Promise<Blake3Backend | undefined> {
  return undefined;
}
