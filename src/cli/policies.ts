/** `heapkit policies`: the registry, one line each. */
import type { Command } from "commander";
import Table from "cli-table3";
import { PLAIN_TABLE } from "./format.js";
import { allPolicies } from "./policy-list.js";
import { EXIT_OK, printJson } from "./usage.js";

export function registerPolicies(program: Command): void {
  program
    .command("policies")
    .description("list the allocator policies, one line each, and whether each can replay traces")
    .option("--json", "print the list as JSON")
    .action((options: { json?: boolean }) => {
      const list = allPolicies().map(({ name, description, cannotReplay }) => ({ name, replaysTraces: cannotReplay === null, description, cannotReplay }));
      if (options.json) printJson(list);
      else process.stdout.write(`${policyTable(list).toString()}\n`);
      process.exitCode = EXIT_OK;
    });
}

function policyTable(list: { name: string; replaysTraces: boolean; description: string }[]): Table.Table {
  const table = new Table({ ...PLAIN_TABLE, head: ["policy", "traces", "description"] });
  for (const policy of list) table.push([policy.name, policy.replaysTraces ? "yes" : "no", policy.description]);
  return table;
}
