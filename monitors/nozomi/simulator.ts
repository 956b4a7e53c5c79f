import type { MonitorSimulator } from "../../simulators/monitor.ts";
import { startNozomiSimulator } from "../../simulators/nozomi/server.ts";

export const simulator: MonitorSimulator = {
  async start({ fleet, port, devices }) {
    const sim = await startNozomiSimulator({ fleet, port, devices });
    return {
      url: sim.url,
      sourceConfig: {
        baseUrl: sim.url,
        auth: { type: "sign_in", keyName: sim.keyName, keyToken: sim.keyToken },
        initialLookbackSeconds: 0,
      },
      stop: () => sim.stop(),
    };
  },
};
