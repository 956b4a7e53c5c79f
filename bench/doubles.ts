/**
 * Child process of the pipeline benchmark: the simulated Armis tenant and the Elasticsearch bulk
 * double, kept out of the measured worker process so its RSS is the worker's alone.
 * Prints one JSON line `{armis, es, control}`; `GET <control>/count` answers the stored count.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { startArmisSimulator } from "../simulators/armis/server.ts";
import { startElasticsearchDouble } from "../simulators/elasticsearch.ts";

const devices = Number(process.argv[2] ?? 200_000);
const armis = await startArmisSimulator({ devices, seed: 7 });
const es = await startElasticsearchDouble({ countOnly: true });
const control = createServer((_req, res) => {
  res.end(JSON.stringify({ count: es.count() }));
});
await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
const port = (control.address() as AddressInfo).port;
process.stdout.write(
  `${JSON.stringify({ armis: armis.url, secret: armis.secret, es: es.url, control: `http://127.0.0.1:${port}` })}\n`,
);
const stop = async () => {
  control.close();
  await armis.stop();
  await es.stop();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
