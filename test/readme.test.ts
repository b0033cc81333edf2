/**
 * Every JavaScript/TypeScript snippet of README.md, run against the built package as a user's
 * module would run it (`import ... from "heapkit"` resolves to this checkout by its exports). A
 * snippet is skipped only when the line just above its fence says, visibly, why:
 * "(Not run by the tests: <reason>)".
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { transformSync } from "esbuild";
import { REPO_ROOT } from "./support/traces.js";

interface Snippet {
  line: number;
  lang: "js" | "ts";
  code: string;
  skipReason: string | undefined;
}

const SKIP_NOTE = /^\(Not run by the tests: (.+)\)$/;

function readmeSnippets(markdown: string): Snippet[] {
  const lines = markdown.split("\n");
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(js|ts|javascript|typescript)\s*$/.exec(lines[i]!);
    if (open === null) {
      if (lines[i]!.startsWith("```")) i = lines.indexOf("```", i + 1); // another language: skip its body
      continue;
    }
    const end = lines.indexOf("```", i + 1);
    const above = lines.slice(0, i).reverse().find((line) => line.trim() !== "") ?? "";
    snippets.push({
      line: i + 1,
      lang: open[1]!.startsWith("t") ? "ts" : "js",
      code: lines.slice(i + 1, end).join("\n"),
      skipReason: SKIP_NOTE.exec(above.trim())?.[1],
    });
    i = end;
  }
  return snippets;
}

function runModule(file: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { cwd: REPO_ROOT }, (error, _stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stderr });
    });
  });
}

const snippets = readmeSnippets(readFileSync(path.join(REPO_ROOT, "README.md"), "utf8"));
const SNIPPET_DIR = path.join(REPO_ROOT, "dist/readme-snippets");

describe("README.md's code snippets", () => {
  it("has snippets to run (the extraction finds them)", () => {
    assert.ok(snippets.filter((s) => s.skipReason === undefined).length >= 3, JSON.stringify(snippets.map((s) => s.line)));
  });

  for (const snippet of snippets) {
    const title = `the ${snippet.lang} snippet at README.md line ${snippet.line}`;
    if (snippet.skipReason !== undefined) {
      it.skip(`${title} (${snippet.skipReason})`);
      continue;
    }
    it(`${title} runs`, async () => {
      mkdirSync(SNIPPET_DIR, { recursive: true });
      const file = path.join(SNIPPET_DIR, `line-${snippet.line}.mjs`);
      const code = snippet.lang === "ts" ? transformSync(snippet.code, { loader: "ts", format: "esm" }).code : snippet.code;
      writeFileSync(file, code);
      const run = await runModule(file);
      assert.equal(run.code, 0, `${title} failed:\n${run.stderr}`);
    });
  }
});
