/**
 * `npm run bench [-- NAME...]`: runs the benchmark sections (all by default) and prints them
 * as markdown, ready for the README. Progress goes to stderr.
 */
import { printSection, type Section } from "./harness.js";
import * as heap from "./heap.js";

const groups: Record<string, (() => Section | Promise<Section>)[]> = {
  heap: heap.sections,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in groups));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(", ")}: choose from ${Object.keys(groups).join(", ")}`);
  process.exit(2);
}
console.log(`Node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`);
for (const name of wanted.length > 0 ? wanted : Object.keys(groups)) {
  for (const section of groups[name]!) printSection(await section());
}
