/** The token cache lives in `core/token-cache.ts` (shared by connectors and actions). */
export * from "../core/token-cache.ts";
