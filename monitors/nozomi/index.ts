/** Nozomi Networks Guardian / Vantage: assets, alerts and node CVEs over N2QL; alerts also as syslog CEF. */
import { createNozomiConnector, NOZOMI_STREAMS, nozomiConfigSchema } from "../../connectors/nozomi/index.ts";
import { nozomiMappings } from "../../mappings/nozomi/index.ts";
import { NOZOMI_PROFILE } from "../../mappings/syslog/vendors.ts";
import { defineMonitor } from "../types.ts";

export const nozomi = defineMonitor({
  id: "nozomi",
  name: "Nozomi Networks Guardian / Vantage",
  pullStreams: NOZOMI_STREAMS,
  mappings: nozomiMappings,
  configSchema: nozomiConfigSchema,
  createConnector: (config, deps) => createNozomiConnector(config, deps),
  namespace: "nozomi",
  siemStreams: ["device", "alert", "vulnerability", "event"],
  syslog: {
    routes: [
      { vendor: "Nozomi Networks", stream: "alert" },
      { vendor: "Nozomi", stream: "alert" },
    ],
    profile: NOZOMI_PROFILE,
  },
  docs: {
    how: "N2QL pull; also syslog CEF",
    auth: "sign-in token from a response header (≈30 min, refreshed before expiry) or HTTP Basic",
    paging: "N2QL `where <time> >= T`, keyset paging, same-millisecond ids at the boundary",
  },
  simulator: {
    description: "serve a simulated Nozomi Guardian until interrupted",
    load: async () => (await import("./simulator.ts")).simulator,
  },
});
