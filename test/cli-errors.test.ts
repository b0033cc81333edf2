/**
 * The CLI's error path with `--json`: any error prints one JSON object on stdout,
 * `{ "error": { name, message, exitCode } }`, with the same exit code as without `--json`.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { heapkit } from "./support/cli.js";

const CASES: { name: string; args: string[]; stdin?: string; exitCode: number; errorName: string }[] = [
  { name: "an unknown option", args: ["replay", "--bogus"], exitCode: 2, errorName: "UsageError" },
  { name: "a missing file", args: ["trace-stats", "/nonexistent.rep"], exitCode: 2, errorName: "TraceFormatError" },
  { name: "a malformed trace on stdin", args: ["trace-stats", "-"], stdin: "1\n2\n3\n0\nx 1 2\n", exitCode: 2, errorName: "TraceFormatError" },
  { name: "an unknown allocator", args: ["replay", "-", "--allocator", "nope"], stdin: "1\n1\n1\n0\na 0 8\n", exitCode: 2, errorName: "UsageError" },
];

describe("cli: --json errors", () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const plain = await heapkit(c.args, c.stdin);
      const json = await heapkit([...c.args, "--json"], c.stdin);
      assert.equal(plain.code, c.exitCode, plain.stderr);
      assert.equal(json.code, c.exitCode, json.stderr);
      assert.equal(plain.stdout, "");
      const printed = JSON.parse(json.stdout) as { error: { name: string; message: string; exitCode: number } };
      assert.equal(printed.error.name, c.errorName);
      assert.equal(printed.error.exitCode, c.exitCode);
      assert.ok(printed.error.message.length > 0);
    });
  }
});
