/**
 * Every class and function that the package's entries export has TSDoc, read from the published
 * .d.ts files with the TypeScript compiler (what an editor shows a user on hover).
 */
import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";
import { REPO_ROOT } from "./support/traces.js";

const ENTRIES = ["index", "debug/index", "trace/index", "node"].map((entry) => path.join(REPO_ROOT, `dist/src/${entry}.d.ts`));
/**
 * Classes whose files other work owns and is documenting (src/heap, src/memory, src/debug).
 * An entry that has its TSDoc fails the test below, so that the list only shrinks.
 */
const DOCUMENTED_BY_THEIR_OWNERS = new Set<string>();

function undocumentedExports(): string[] {
  // No lib and no @types: finding the exports and their comments needs no type from them (and parsing them took seconds).
  const program = ts.createProgram(ENTRIES, { strict: true, skipLibCheck: true, noEmit: true, noLib: true, types: [] });
  const checker = program.getTypeChecker();
  const missing = new Set<string>();
  for (const entry of ENTRIES) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
    for (const exported of checker.getExportsOfModule(module)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const declaration = symbol.declarations?.[0];
      if (declaration === undefined || !(ts.isClassDeclaration(declaration) || ts.isFunctionDeclaration(declaration))) continue;
      if (ts.getJSDocCommentsAndTags(declaration).length === 0) missing.add(exported.name);
    }
  }
  return [...missing].sort();
}

describe("TSDoc", () => {
  it("is on every exported class and function of the package's entries", () => {
    assert.deepEqual(undocumentedExports(), [...DOCUMENTED_BY_THEIR_OWNERS].sort(), "undocumented exports (or owners' classes now documented: drop them from the list)");
  });
});
