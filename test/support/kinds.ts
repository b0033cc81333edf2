/** The byte store kinds every allocator test runs on. */
import type { StoreKind } from "../../src/memory/store.js";

export const STORE_KINDS: readonly StoreKind[] = ["array-buffer", "reserved", "resizable", "shared", "wasm"];
