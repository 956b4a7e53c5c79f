/** Asimily Insight: assets, anomalies and CVEs over its REST API (Spring pages). */
import {
  ASIMILY_STREAMS,
  asimilyConfigSchema,
  createAsimilyConnector,
} from "../../connectors/asimily/index.ts";
import { asimilyMappings } from "../../mappings/asimily/index.ts";
import { defineMonitor } from "../types.ts";

export const asimily = defineMonitor({
  id: "asimily",
  name: "Asimily Insight",
  pullStreams: ASIMILY_STREAMS,
  mappings: asimilyMappings,
  configSchema: asimilyConfigSchema,
  createConnector: (config, deps) => createAsimilyConnector(config, deps),
  namespace: "asimily",
  siemStreams: ["device", "alert", "vulnerability"],
  docs: {
    how: "REST pull, Spring pages",
    auth: "HTTP Basic",
    paging: "Spring pages (`page`/`size`), `*LastUpdatedSince` + boundary ids; page caps 400/100/25",
  },
  simulator: {
    description: "serve a simulated Asimily Insight portal until interrupted",
    load: async () => (await import("./simulator.ts")).simulator,
  },
});
