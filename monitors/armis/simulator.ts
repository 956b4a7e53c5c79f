import { startArmisSimulator } from "../../simulators/armis/server.ts";
import type { MonitorSimulator } from "../../simulators/monitor.ts";

export const simulator: MonitorSimulator = {
  async start({ fleet, port, devices }) {
    const sim = await startArmisSimulator({ fleet, port, devices });
    return {
      url: sim.url,
      sourceConfig: { baseUrl: sim.url, secretKey: sim.secret },
      stop: () => sim.stop(),
    };
  },
};
