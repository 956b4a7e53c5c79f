/** The connectors' HTTP client lives in `core/http.ts` (one HTTP layer for connectors and actions). */
export * from "../core/http.ts";
