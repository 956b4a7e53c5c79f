import { pushCynerioEvents } from "../../simulators/cynerio/push.ts";
import { startCynerioSimulator } from "../../simulators/cynerio/server.ts";
import type { MonitorSimulator } from "../../simulators/monitor.ts";

export const simulator: MonitorSimulator = {
  async start({ fleet, port, devices }) {
    const sim = await startCynerioSimulator({ fleet, port, devices });
    return {
      url: sim.url,
      sourceConfig: {
        baseUrl: sim.url,
        tokenUrl: sim.tokenUrl,
        clientId: sim.clientId,
        clientSecret: sim.clientSecret,
      },
      // Events are pushed (HTTP preferred, else syslog CEF); assets are polled.
      ...(fleet ? { push: (targets) => pushCynerioEvents(fleet, targets) } : {}),
      stop: () => sim.stop(),
    };
  },
};
