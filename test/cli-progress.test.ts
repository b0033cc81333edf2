import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Progress } from "../src/cli/progress.js";

/** Just enough of a WriteStream to record what Progress writes. */
function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const stream = { isTTY, columns: 60, text: "", write(chunk: string) { stream.text += chunk; return true; } };
  return stream as unknown as NodeJS.WriteStream & { text: string };
}

describe("Progress", () => {
  it("redraws one bar in place on a terminal and erases it at the end", () => {
    const stream = fakeStream(true);
    const progress = new Progress(2, stream);
    progress.started("a × heap");
    progress.finished("a × heap", 1234, "ok");
    progress.end();
    const frames = stream.text.split("\r\x1b[2K").filter((frame) => frame !== "");
    assert.deepEqual(frames, [
      `[${"-".repeat(30)}] 0/2  a × heap`,
      `[${"#".repeat(15)}${"-".repeat(15)}] 1/2  `,
    ]);
    assert.ok(stream.text.endsWith("\r\x1b[2K"));
    assert.ok(!stream.text.includes("\n"));
  });

  it("writes a plain line per finished job elsewhere", () => {
    const stream = fakeStream(false);
    const progress = new Progress(2, stream);
    progress.started("a × heap");
    progress.finished("a × heap", 1234, "ok");
    progress.end();
    assert.equal(stream.text, "[1/2] a × heap: ok in 1.2 s\n");
  });
});
