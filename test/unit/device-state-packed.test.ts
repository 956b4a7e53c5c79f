import assert from "node:assert/strict";
import { test } from "node:test";
import { PackedJsonMap, pack, unpack } from "../../worker/device-state/packed.ts";

test("PackedJsonMap gives back exactly the JSON it was given, non-ASCII included, smaller", () => {
  const map = new PackedJsonMap();
  const device = {
    key: "dev-1",
    facts: Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [
        `field.${i}`,
        [{ value: `Pompe à perfusion ✓ ${i}`, source: "claroty_xdome", seenAt: "2026-12-07T23:13:29.223Z" }],
      ]),
    ),
  };
  const json = JSON.stringify(device);
  map.set("dev-1", json).set("dev-2", "{}");
  assert.equal(map.get("dev-1"), json);
  assert.equal(map.get("dev-2"), "{}");
  assert.equal(map.get("nope"), undefined);
  assert.equal(map.setIfChanged("dev-1", json), false);
  assert.equal(map.setIfChanged("dev-1", `${json} `), true);
  assert.equal(map.get("dev-1"), `${json} `);
  map.set("dev-1", json);
  assert.equal(map.size, 2);
  assert.deepEqual([...map.values()], [json, "{}"]);
  assert.ok(map.delete("dev-2"));
  assert.ok(!map.has("dev-2"));
  assert.deepEqual([...map.values()], [json]);
  // What is held is the deflated text, several times smaller than the JSON.
  const packed = pack(json);
  assert.equal(unpack(packed), json);
  assert.ok(packed.length * 3 < json.length, `${packed.length} vs ${json.length}`);
});
