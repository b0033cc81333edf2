/**
 * A strict little well-formedness check for the report: every element closed in order (void
 * HTML elements and self-closed SVG ones aside), no stray `<` in text, and the elements listed
 * by tag name, for the tests to count.
 */
const VOID_ELEMENTS = new Set(["meta", "br", "hr", "img", "input", "link"]);
const TAG = /<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/?)>/g;

export function parseTags(html: string): string[] {
  const body = html.replace(/^<!DOCTYPE html>\s*/, "");
  const open: string[] = [];
  const seen: string[] = [];
  let last = 0;
  for (const match of body.matchAll(TAG)) {
    const [, closing, name, , selfClosing] = match as unknown as [string, string, string, string, string];
    if (body.slice(last, match.index).includes("<")) throw new Error(`stray "<" before offset ${match.index}`);
    last = match.index + match[0].length;
    if (closing) {
      const top = open.pop();
      if (top !== name) throw new Error(`</${name}> closes <${top}> at offset ${match.index}`);
    } else {
      seen.push(name);
      if (!selfClosing && !VOID_ELEMENTS.has(name)) open.push(name);
    }
  }
  if (body.slice(last).includes("<")) throw new Error("stray \"<\" at the end");
  if (open.length > 0) throw new Error(`unclosed: ${open.join(" > ")}`);
  return seen;
}
