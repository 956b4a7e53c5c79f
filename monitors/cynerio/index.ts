/** Cynerio: assets pulled with OAuth2 client credentials; events pushed (HTTP JSON or syslog CEF). */
import {
  CYNERIO_PULL_STREAMS,
  createCynerioConnector,
  cynerioConfigSchema,
} from "../../connectors/cynerio/index.ts";
import { cynerioMappings } from "../../mappings/cynerio/index.ts";
import { CYNERIO_PROFILE } from "../../mappings/syslog/vendors.ts";
import { defineMonitor } from "../types.ts";

export const cynerio = defineMonitor({
  id: "cynerio",
  name: "Cynerio",
  // `event` arrives by push (HTTP/syslog receivers), so it is no pull stream.
  pullStreams: CYNERIO_PULL_STREAMS,
  mappings: cynerioMappings,
  configSchema: cynerioConfigSchema,
  createConnector: (config, deps) => createCynerioConnector(config, deps),
  namespace: "cynerio",
  siemStreams: ["device", "alert"],
  syslog: { routes: [{ vendor: "Cynerio", stream: "event" }], profile: CYNERIO_PROFILE },
  docs: {
    how: "OAuth2 pull; HTTP push or syslog CEF",
    auth: "OAuth2 client credentials",
    paging: "configurable paths and page parameters (not public); `last_seen` cursor + boundary ids",
  },
  simulator: {
    description: "serve a simulated Cynerio account (OAuth token endpoint and asset API) until interrupted",
    load: async () => (await import("./simulator.ts")).simulator,
  },
});
