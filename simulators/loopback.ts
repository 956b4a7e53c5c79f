/** Listening on loopback, shared by every simulator's HTTP server. */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Listening {
  /** Base URL (`http://127.0.0.1:PORT`, IPv6 hosts in brackets). */
  url: string;
  /** Closes the server and every open connection. */
  stop(): Promise<void>;
}

/** Starts `server` on `host:port` (0 picks a free port) and resolves once it listens. */
export async function listen(server: Server, port = 0, host = "127.0.0.1"): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const h = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${h}:${address.port}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
