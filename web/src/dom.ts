/** Small DOM helpers shared by the tabs. */
import type { LabPolicy } from "./lab-policies.js";

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element as T;
}

/** The value of a number input, as a non-negative integer (0 when empty or invalid). */
export function numberInput(id: string): number {
  const value = Math.floor(Number(byId<HTMLInputElement>(id).value));
  return Number.isFinite(value) && value >= 0 ? value : 0;
}

export function fillPolicySelect(select: HTMLSelectElement, choices: readonly LabPolicy[], selected: string): void {
  select.replaceChildren(
    ...choices.map((policy) => {
      const option = document.createElement("option");
      option.value = policy.name;
      option.textContent = policy.name;
      option.title = policy.description;
      option.selected = policy.name === selected;
      return option;
    }),
  );
}
