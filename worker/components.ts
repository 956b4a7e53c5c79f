/** Schemas of every component a medsoc.yaml configures (sources, sinks). */
import { connectorSchemas } from "../monitors/index.ts";
import type { ComponentSchemas } from "./config.ts";
import { sinkSchemas } from "./sinks/index.ts";

/** Schemas of every component, for `validate-config` and `start --config`. */
export function componentSchemas(): ComponentSchemas {
  return { sources: connectorSchemas(), sinks: sinkSchemas() };
}
