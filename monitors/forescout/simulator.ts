import { pushForescoutHosts, startForescoutSimulator } from "../../simulators/forescout/server.ts";
import type { MonitorSimulator } from "../../simulators/monitor.ts";

export const simulator: MonitorSimulator = {
  async start({ fleet, port, devices }) {
    const sim = await startForescoutSimulator({ fleet, port, devices });
    return {
      url: sim.url,
      sourceConfig: { baseUrl: sim.url, username: sim.username, password: sim.password },
      ...(fleet ? { push: (targets) => pushForescoutHosts(fleet, targets) } : {}),
      stop: () => sim.stop(),
    };
  },
};
