import { startXDomeSimulator } from "../../simulators/claroty_xdome/server.ts";
import type { MonitorSimulator } from "../../simulators/monitor.ts";

export const simulator: MonitorSimulator = {
  async start({ fleet, port, devices, typeDrift }) {
    const sim = await startXDomeSimulator({
      fleet,
      port,
      devices,
      failures: { typeDrift: typeDrift === true },
    });
    return {
      url: sim.url,
      sourceConfig: { baseUrl: sim.url, apiToken: sim.token },
      stop: () => sim.stop(),
    };
  },
};
