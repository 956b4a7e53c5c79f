import type { MonitorSimulator } from "../../simulators/monitor.ts";
import { startPanwIotSimulator } from "../../simulators/panw_iot/server.ts";

export const simulator: MonitorSimulator = {
  async start({ fleet, port, devices, typeDrift }) {
    const sim = await startPanwIotSimulator({
      fleet,
      port,
      devices,
      failures: { typeDrift: typeDrift === true },
    });
    return {
      url: sim.url,
      sourceConfig: {
        baseUrl: sim.url,
        customerId: sim.customerId,
        keyId: sim.keyId,
        accessKey: sim.accessKey,
      },
      stop: () => sim.stop(),
    };
  },
};
