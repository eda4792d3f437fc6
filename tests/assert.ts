/**
 * Assertions for the test suite. `@std/assert` lives only on JSR, which is out of reach here, so
 * these are thin names over `node:assert/strict` (deep equality covers typed arrays).
 */
import nodeAssert from "node:assert/strict";

export function assert(value: unknown, message?: string): asserts value {
  nodeAssert.ok(value, message);
}

export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

export function assertNotEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.notDeepStrictEqual(actual, expected, message);
}

// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => Error;

/** Asserts that `fn` throws an instance of `cls`, and returns the error. */
export function assertThrows<E extends Error>(
  fn: () => unknown,
  cls: new (...args: never[]) => E,
  message?: string,
): E {
  try {
    fn();
  } catch (e) {
    nodeAssert.ok(e instanceof (cls as unknown as ErrorClass), `${message ?? ""} threw ${e}`);
    return e as E;
  }
  throw new nodeAssert.AssertionError({ message: `${message ?? ""} did not throw` });
}

/** Asserts that `promise` rejects with an instance of `cls`, and returns the error. */
export async function assertRejects<E extends Error>(
  promise: Promise<unknown> | (() => Promise<unknown>),
  cls: new (...args: never[]) => E,
  message?: string,
): Promise<E> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (e) {
    nodeAssert.ok(e instanceof (cls as unknown as ErrorClass), `${message ?? ""} rejected ${e}`);
    return e as E;
  }
  throw new nodeAssert.AssertionError({ message: `${message ?? ""} did not reject` });
}
