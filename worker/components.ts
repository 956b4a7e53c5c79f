/** Schemas of every component a medsoc.yaml configures (sources, sinks). */
import { connectorSchemas } from "../connectors/index.ts";
import type { ComponentSchemas } from "../core/config.ts";
import { sinkSchemas } from "./sinks/index.ts";

/** Schemas of every component, for `validate-config` and `start --config`. */
export function componentSchemas(): ComponentSchemas {
  return { sources: connectorSchemas(), sinks: sinkSchemas() };
}
