/**
 * Leak reports: the live blocks grouped by allocation site, with counts and bytes, largest group
 * first, as text for a terminal and as JSON for tools. heaptrack's "peak/leaked by call site" and
 * LeakSanitizer's "Direct leak of N byte(s) in M object(s) allocated from:" are the models.
 *
 * A site is the (tag, stack) pair the block was allocated with (see sites.ts). Blocks with
 * neither form one group, whose text says how to record sites.
 */
import { formatSite, NO_SITE, type Site, STACKS_OFF_HINT } from "./sites.js";

/** One live block in a report. `seq` is the operation that first allocated it. */
export interface LeakedBlock {
  offset: number;
  size: number;
  seq: number;
}

export interface LeakSite {
  /** The stack of the allocation, if stacks were captured. */
  stack?: string;
  /** The `withSite` tag it was allocated under, if any. */
  tag?: string;
  count: number;
  bytes: number;
  /** The largest blocks of the group (at most `maxBlocksPerSite`), largest first. */
  blocks: LeakedBlock[];
}

/** What `snapshot()` returns: the point in the heap's history to diff against. */
export interface HeapSnapshot {
  /** Operations before the snapshot have seq <= this. */
  readonly seq: number;
  readonly liveBlocks: number;
  readonly liveBytes: number;
}

/** A block as the heap hands it to `LeakReport.build`. */
export interface LiveBlockRecord extends LeakedBlock {
  siteId: number;
}

/**
 * What `DebugHeap.leaks()` (or `leaksSince(snapshot)`) found still live: the blocks grouped by
 * the site that allocated them, the biggest first, as LeakSanitizer reports. `String(report)` is
 * a readable summary, `JSON.stringify(report)` the same for scripts.
 */
export class LeakReport {
  private constructor(
    readonly blocks: number,
    readonly bytes: number,
    readonly sites: LeakSite[],
    /** The snapshot this report diffs against, if any. */
    readonly since: HeapSnapshot | undefined,
  ) {}

  /** Groups blocks by site id; `describe` turns an id into its stack and tag. */
  static build(
    records: Iterable<LiveBlockRecord>,
    describe: (siteId: number) => { stack?: string; tag?: string },
    since?: HeapSnapshot,
    maxBlocksPerSite = 8,
  ): LeakReport {
    const groups = new Map<number, { count: number; bytes: number; blocks: LeakedBlock[] }>();
    let blocks = 0;
    let bytes = 0;
    for (const r of records) {
      blocks++;
      bytes += r.size;
      let g = groups.get(r.siteId);
      if (g === undefined) groups.set(r.siteId, (g = { count: 0, bytes: 0, blocks: [] }));
      g.count++;
      g.bytes += r.size;
      g.blocks.push({ offset: r.offset, size: r.size, seq: r.seq });
    }
    const sites: LeakSite[] = [];
    for (const [id, g] of groups) {
      g.blocks.sort((a, b) => b.size - a.size || a.offset - b.offset);
      const site: LeakSite = { count: g.count, bytes: g.bytes, blocks: g.blocks.slice(0, maxBlocksPerSite) };
      if (id !== NO_SITE) {
        const { stack, tag } = describe(id);
        if (stack !== undefined) site.stack = stack;
        if (tag !== undefined) site.tag = tag;
      }
      sites.push(site);
    }
    sites.sort((a, b) => b.bytes - a.bytes || b.count - a.count);
    return new LeakReport(blocks, bytes, sites, since);
  }

  /** LeakSanitizer-like text: one paragraph per site, largest first. */
  toText(): string {
    const scope = this.since === undefined ? "live" : `allocated since operation #${this.since.seq} and still live`;
    if (this.blocks === 0) return `no blocks ${scope}`;
    const lines = [`${this.bytes} bytes in ${plural(this.blocks, "block")} ${scope}, from ${plural(this.sites.length, "site")} (largest first):`];
    for (const site of this.sites) {
      lines.push("");
      lines.push(`${site.bytes} bytes in ${plural(site.count, "block")} ${describeSite(site)}`);
      const shown = site.blocks.map((b) => `${b.offset} (${b.size} bytes, operation #${b.seq})`).join(", ");
      lines.push(`    blocks: ${shown}${site.count > site.blocks.length ? `, and ${site.count - site.blocks.length} more` : ""}`);
    }
    if (this.sites.some((site) => site.stack === undefined)) {
      lines.push("", `(${STACKS_OFF_HINT}; or label work with heap.withSite(tag, fn) to group by what it was doing)`);
    }
    return lines.join("\n");
  }

  /** The same text as `toText()`, so `String(report)` and template literals read as the report. */
  toString(): string {
    return this.toText();
  }

  toJSON(): object {
    return {
      blocks: this.blocks,
      bytes: this.bytes,
      ...(this.since === undefined ? {} : { sinceSeq: this.since.seq }),
      sites: this.sites,
    };
  }
}

function describeSite(site: LeakSite): string {
  const tag = site.tag === undefined ? "" : ` under site ${JSON.stringify(site.tag)}`;
  if (site.stack !== undefined) {
    const s: Site = { operation: "malloc", seq: 0, stack: site.stack };
    const frames = formatSite(s).split("\n").slice(1).join("\n");
    return `allocated${tag} from:\n${frames}`;
  }
  return tag === "" ? "allocated at unrecorded sites" : `allocated${tag}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
