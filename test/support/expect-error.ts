/**
 * `expectError(fn, Class, fields)`: fn throws an instance of exactly `Class` whose fields match
 * `fields` (nested objects match partially, arrays exactly). Returns the error for more checks.
 */
import assert from "node:assert/strict";

export function expectError<T extends Error>(fn: () => unknown, cls: abstract new (...args: never[]) => T, fields: Record<string, unknown> = {}): T {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown !== undefined, `expected ${cls.name}, nothing was thrown`);
  assert.equal((thrown as object).constructor, cls, `expected exactly ${cls.name}, got ${String(thrown)}`);
  const error = thrown as T;
  matchFields(error, fields, cls.name);
  return error;
}

function matchFields(actual: unknown, expected: Record<string, unknown>, path: string): void {
  for (const [key, want] of Object.entries(expected)) {
    const got = (actual as Record<string, unknown>)[key];
    if (want !== null && typeof want === "object" && !Array.isArray(want)) {
      assert.ok(got !== null && typeof got === "object", `${path}.${key}: expected an object, got ${String(got)}`);
      matchFields(got, want as Record<string, unknown>, `${path}.${key}`);
    } else {
      assert.deepEqual(got, want, `${path}.${key}`);
    }
  }
}
