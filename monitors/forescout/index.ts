/** Forescout eyeSight: hosts over the Web API, pushed by eyeExtend Connect, or as syslog CEF. */
import {
  createForescoutConnector,
  FORESCOUT_STREAMS,
  forescoutConfigSchema,
} from "../../connectors/forescout/index.ts";
import { forescoutMappings } from "../../mappings/forescout/index.ts";
import { FORESCOUT_PROFILE } from "../../mappings/syslog/vendors.ts";
import { defineMonitor } from "../types.ts";

export const forescout = defineMonitor({
  id: "forescout",
  name: "Forescout eyeSight",
  pullStreams: FORESCOUT_STREAMS,
  mappings: forescoutMappings,
  configSchema: forescoutConfigSchema,
  createConnector: (config, deps) => createForescoutConnector(config, deps),
  namespace: "forescout",
  siemStreams: ["device"],
  syslog: {
    routes: [
      { vendor: "ForeScout Technologies", stream: "host" },
      { vendor: "Forescout", stream: "host" },
    ],
    profile: FORESCOUT_PROFILE,
  },
  docs: {
    how: "Web API pull or HTTP push; also syslog CEF",
    auth: "`/api/login` JWT (≈5 min); also pushes host records to the HTTP push receiver",
    paging: "host list + per-host details; newest property timestamp + ids at it",
  },
  simulator: {
    description: "serve a simulated Forescout eyeSight Web API until interrupted",
    load: async () => (await import("./simulator.ts")).simulator,
  },
});
