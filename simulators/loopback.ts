/** The HTTP plumbing every simulator shares: a JSON server, JSON replies, listening on loopback. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
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

/**
 * An HTTP server around an async handler. An error the handler did not turn into a reply becomes a
 * 500 with the vendor's own error body.
 */
export function jsonServer(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  errorBody: (error: unknown) => unknown,
): Server {
  return createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify(errorBody(error)));
    });
  });
}

/** Writes a JSON reply with its length; `headers` may override the content type. */
export function sendJson(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
