import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Client, errors } from "@elastic/elasticsearch";
import MockModule, { type MockPattern } from "@elastic/elasticsearch-mock";
import { PermanentError } from "../../core/errors.ts";
import {
  LATEST_DEVICE_TRANSFORM_ID,
  latestDeviceTransform,
  setupLatestDeviceTransform,
} from "../../worker/commands/setup-elasticsearch-transform.ts";

const Mock = MockModule as unknown as typeof MockModule.default;
const PATH = `/_transform/${LATEST_DEVICE_TRANSFORM_ID}`;

/** An Elasticsearch error reply (the package is CommonJS, so this is the mock's own class). */
const reply = (statusCode: number, type: string) =>
  new errors.ResponseError({
    body: { error: { type }, status: statusCode },
    statusCode,
    headers: {},
    warnings: null,
    meta: {} as never,
  });

/** A mock cluster with Elasticsearch's transform API semantics (GET 404 when missing, 409 on a second start). */
function cluster(initial?: Record<string, unknown>) {
  const mock = new Mock();
  const calls: string[] = [];
  let stored = initial;
  let started = initial !== undefined;
  mock.add({ method: "GET", path: PATH }, () => {
    calls.push("GET");
    return stored
      ? { count: 1, transforms: [{ id: LATEST_DEVICE_TRANSFORM_ID, ...stored }] }
      : reply(404, "resource_not_found_exception");
  });
  mock.add({ method: "PUT", path: PATH }, (p: MockPattern) => {
    calls.push("PUT");
    if (stored) return reply(409, "resource_already_exists_exception");
    stored = p.body as Record<string, unknown>;
    return { acknowledged: true };
  });
  mock.add({ method: "POST", path: `${PATH}/_start` }, () => {
    calls.push("START");
    if (started) return reply(409, "status_exception");
    started = true;
    return { acknowledged: true };
  });
  mock.add({ method: "POST", path: `${PATH}/_stop` }, () => {
    calls.push("STOP");
    started = false;
    return { acknowledged: true };
  });
  mock.add({ method: "DELETE", path: PATH }, () => {
    calls.push("DELETE");
    stored = undefined;
    return { acknowledged: true };
  });
  const client = new Client({
    node: "http://localhost:9200",
    Connection: mock.getConnection(),
    maxRetries: 0,
  });
  return { client, calls, stored: () => stored };
}

describe("medsoc setup elasticsearch --transform (latest-device transform)", () => {
  it("creates and starts the transform keyed on medsoc.device.key, then leaves it alone on a re-run", async () => {
    const c = cluster();
    assert.deepEqual(await setupLatestDeviceTransform(c.client), {
      transform: LATEST_DEVICE_TRANSFORM_ID,
      action: "created",
    });
    assert.deepEqual(c.calls, ["GET", "PUT", "START"]);
    const body = c.stored() as {
      latest: { unique_key: string[] };
      source: { index: string[] };
      sync: { time: { field: string } };
    };
    assert.deepEqual(body.latest.unique_key, ["medsoc.device.key"]);
    assert.deepEqual(body.source.index, ["logs-medsoc.device-*"]);
    assert.equal(body.sync.time.field, "event.ingested");
    c.calls.length = 0;
    assert.equal((await setupLatestDeviceTransform(c.client)).action, "unchanged");
    assert.deepEqual(c.calls, ["GET", "START"], "no PUT; the 409 of an already started transform is fine");
  });
  it("replaces a transform whose content changed (stop, delete, put, start)", async () => {
    const c = cluster({ ...latestDeviceTransform(), _meta: { managed_by: "medsoc", medsoc_hash: "old" } });
    assert.equal((await setupLatestDeviceTransform(c.client)).action, "replaced");
    assert.deepEqual(c.calls, ["GET", "STOP", "DELETE", "PUT", "START"]);
  });
  it("reports a refused request as a permanent error", async () => {
    const mock = new Mock();
    mock.add({ method: "GET", path: PATH }, () => reply(403, "security_exception"));
    const client = new Client({
      node: "http://localhost:9200",
      Connection: mock.getConnection(),
      maxRetries: 0,
    });
    await assert.rejects(
      setupLatestDeviceTransform(client),
      (e: Error) => e instanceof PermanentError && /HTTP 403/.test(e.message),
    );
  });
});
