import { startAsimilySimulator } from "../../simulators/asimily/server.ts";
import type { MonitorSimulator } from "../../simulators/monitor.ts";

export const simulator: MonitorSimulator = {
  async start({ fleet, port, devices }) {
    const sim = await startAsimilySimulator({ fleet, port, devices });
    return {
      url: sim.url,
      sourceConfig: { baseUrl: sim.url, username: sim.username, password: sim.password },
      stop: () => sim.stop(),
    };
  },
};
