import { createHash } from "node:crypto";
import type { Client } from "@elastic/elasticsearch";
import { errors } from "@elastic/elasticsearch";
import { PermanentError, wrapError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";

/** Transform id used when medsoc installs it without Fleet. */
export const LATEST_DEVICE_TRANSFORM_ID = "medsoc-latest-device";
/** Its destination index: one document per `medsoc.device.key`, the newest snapshot. */
export const LATEST_DEVICE_INDEX = "medsoc-latest-device";

/**
 * The latest-device transform for clusters set up by `medsoc setup elasticsearch` (the Elastic
 * package ships the same transform for Fleet). Same key, sort and sync as the package; mappings are
 * deduced from the source data streams because this destination has no template of its own.
 */
export function latestDeviceTransform(): Record<string, unknown> {
  const body = {
    description:
      "Latest state of each medical device reported through medsoc (one document per medsoc.device.key).",
    source: { index: ["logs-medsoc.device-*"] },
    dest: { index: LATEST_DEVICE_INDEX },
    latest: { unique_key: ["medsoc.device.key"], sort: "@timestamp" },
    frequency: "30s",
    sync: { time: { field: "event.ingested", delay: "120s" } },
    settings: { deduce_mappings: true, unattended: true },
  };
  const hash = createHash("sha256").update(JSON.stringify(body)).digest("hex").slice(0, 16);
  return { ...body, _meta: { managed_by: "medsoc", medsoc_hash: hash } };
}

/**
 * Installs and starts the transform, idempotently: an installed transform with the same content
 * hash is left running; a different one is stopped, deleted and recreated (a `latest` transform's
 * key cannot be updated in place); a transform that is already started is fine.
 */
export async function setupLatestDeviceTransform(
  client: Client,
  options: { log?: Logger } = {},
): Promise<{ transform: string; action: "created" | "replaced" | "unchanged" }> {
  const log = options.log ?? silentLogger;
  const path = `/_transform/${LATEST_DEVICE_TRANSFORM_ID}`;
  const wanted = latestDeviceTransform();
  const context = `setting up elasticsearch: installing ${path}`;
  try {
    const current = await client.transport.request({ method: "GET", path }, { ignore: [404], meta: true });
    const installed = (current.body as { transforms?: { _meta?: { medsoc_hash?: string } }[] } | undefined)
      ?.transforms?.[0];
    let action: "created" | "replaced" | "unchanged" = "created";
    if (current.statusCode === 200 && installed) {
      if (installed._meta?.medsoc_hash === (wanted._meta as { medsoc_hash: string }).medsoc_hash)
        action = "unchanged";
      else {
        await client.transport.request({
          method: "POST",
          path: `${path}/_stop`,
          querystring: { force: "true", wait_for_completion: "true" },
        });
        await client.transport.request({ method: "DELETE", path });
        action = "replaced";
      }
    }
    if (action !== "unchanged") await client.transport.request({ method: "PUT", path, body: wanted });
    // Starting a started transform answers 409: that is the state we want.
    await client.transport.request({ method: "POST", path: `${path}/_start` }, { ignore: [409] });
    log.info({ transform: LATEST_DEVICE_TRANSFORM_ID, action }, "Latest-device transform is in place.");
    return { transform: LATEST_DEVICE_TRANSFORM_ID, action };
  } catch (error) {
    const status = error instanceof errors.ResponseError ? (error.statusCode ?? 0) : 0;
    if (status >= 400 && status < 500 && status !== 429)
      throw new PermanentError(`${context}: HTTP ${status}`, { cause: error });
    throw wrapError(context, error);
  }
}
