/** Palo Alto Networks IoT Security: devices, policy alerts and confirmed vulnerabilities. */
import {
  createPanwIotConnector,
  PANW_IOT_STREAMS,
  panwIotConfigSchema,
} from "../../connectors/panw_iot/index.ts";
import { panwIotMappings } from "../../mappings/panw_iot/index.ts";
import { defineMonitor } from "../types.ts";

export const panwIot = defineMonitor({
  id: "panw_iot",
  name: "Palo Alto Networks IoT Security",
  pullStreams: PANW_IOT_STREAMS,
  mappings: panwIotMappings,
  configSchema: panwIotConfigSchema,
  createConnector: (config, deps) => createPanwIotConnector(config, deps),
  namespace: "panw_iot",
  siemStreams: ["device", "alert", "vulnerability"],
  docs: {
    how: "REST pull, `offset`/`pagelength`",
    auth: "`X-Key-Id`/`X-Access-Key` headers + `customerid`; one retry on 401",
    paging:
      "`offset`/`pagelength`; `stime` inclusive, every row of the last millisecond read, then last + 1 ms (or `seen-ids`); inventory re-read since the previous poll",
  },
  simulator: {
    description: "serve a simulated Palo Alto Networks IoT Security tenant until interrupted",
    typeDrift: true,
    load: async () => (await import("./simulator.ts")).simulator,
  },
});
