/** Claroty xDome: devices, alerts, vulnerability relations and OT activity events (POST queries). */
import {
  createXDomeConnector,
  XDOME_STREAMS,
  xdomeConfigSchema,
} from "../../connectors/claroty_xdome/index.ts";
import { xdomeMappings } from "../../mappings/claroty_xdome/index.ts";
import { XDOME_PROFILE } from "../../mappings/syslog/vendors.ts";
import { defineMonitor } from "../types.ts";

export const clarotyXdome = defineMonitor({
  id: "claroty_xdome",
  name: "Claroty xDome",
  pullStreams: XDOME_STREAMS,
  mappings: xdomeMappings,
  configSchema: xdomeConfigSchema,
  createConnector: (config, deps) => createXDomeConnector(config, deps),
  namespace: "claroty_xdome",
  siemStreams: ["device", "alert", "vulnerability", "event"],
  syslog: {
    routes: [
      { vendor: "Claroty", stream: "alert" },
      // xDome's CEF also arrives as Medigate (Microsoft Sentinel's xDome connector selects DeviceVendor in "Claroty,Medigate").
      { vendor: "Medigate", stream: "alert" },
    ],
    profile: XDOME_PROFILE,
  },
  docs: {
    how: "REST pull (POST queries)",
    auth: "static `Authorization: Bearer` token; one retry on 401",
    paging:
      "`POST` bodies with `fields`/`filter_by`/`sort_by`/`offset`/`limit`; `greater_or_equal` on the stream's time field + boundary ids",
  },
  simulator: {
    description: "serve a simulated Claroty xDome tenant until interrupted",
    typeDrift: true,
    load: async () => (await import("./simulator.ts")).simulator,
  },
});
