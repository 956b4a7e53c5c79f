/** Armis: device inventory, alerts and vulnerabilities over the Armis REST API (AQL). */
import { ARMIS_STREAMS, armisConfigSchema, createArmisConnector } from "../../connectors/armis/index.ts";
import { armisMappings } from "../../mappings/armis/index.ts";
import { ARMIS_PROFILE } from "../../mappings/syslog/vendors.ts";
import { defineMonitor } from "../types.ts";

export const armis = defineMonitor({
  id: "armis",
  name: "Armis",
  pullStreams: ARMIS_STREAMS,
  mappings: armisMappings,
  configSchema: armisConfigSchema,
  createConnector: (config, deps) => createArmisConnector(config, deps),
  namespace: "armis",
  siemStreams: ["device", "alert", "vulnerability"],
  syslog: {
    routes: [
      { vendor: "Armis", stream: "alert" },
      { vendor: "Armis Security", stream: "alert" },
    ],
    profile: ARMIS_PROFILE,
  },
  docs: {
    how: "REST pull, AQL `after:` + boundary ids",
    auth: "secret key → access token, refreshed before expiry",
    paging: "`from`/`length`; AQL `after:` one second before the cursor + boundary ids",
  },
  simulator: {
    description: "serve a simulated Armis tenant until interrupted",
    load: async () => (await import("./simulator.ts")).simulator,
  },
});
