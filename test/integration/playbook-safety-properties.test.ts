/**
 * Generated-scenario safety suite (issue 10 "Proof", fast-check): random fleets of pumps with random
 * clinical states (in use, idle, unknown, stale), enforcement-point sets, clinical servers configured
 * or not, blast-radius limits, injected failures (NAC/firewall read-back failures, transient 5xx on
 * every system, a full isolation that fails after restricted was verified, ambiguous and failed
 * credential pushes), approvals approved, denied or left to expire; runs started at once. The same
 * suite runs on the memory driver and on BullMQ with a second worker process sharing the Redis
 * deployment. After every scenario the invariants are checked against what the simulators saw:
 *
 * 1. no full isolation (or restricted containment that is full in effect: no clinical servers) and no
 *    credential change of a pump in use, unknown or stale without a clinical_engineering approval
 *    covering that device, decided before the request;
 * 2. devices contained or changed automatically (no blast-radius approval) per hour ≤ the limit;
 * 3. a device whose containment was verified at a level is not left below it by a later failure;
 * 4. every run ends with a ticket and a page;
 * 5. the audit chain verifies.
 *
 * CI size by default; `npm run test:safety` runs thousands (MEDSOC_SAFETY_RUNS, and
 * MEDSOC_SAFETY_REDIS_RUNS for the two-process Redis part).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { Redis } from "ioredis";
import type { EcsDocument } from "../../mappings/types.ts";
import { verifyChain } from "../../playbooks/engine/audit.ts";
import type { ApprovalRecord, RunState } from "../../playbooks/engine/store.ts";
import { createFleet, type DeviceFacts } from "../../simulators/fleet/fleet.ts";
import { type ResponseSystems, startResponseSystems } from "../../simulators/response/index.ts";
import { AUDIT_TEST_KEY, deviceDoc, type Harness, REDIS_URL, startHarness } from "../helpers/playbooks.ts";

const RUNS = Number(process.env.MEDSOC_SAFETY_RUNS ?? 10);
const REDIS_RUNS = Number(process.env.MEDSOC_SAFETY_REDIS_RUNS ?? (RUNS > 100 ? Math.ceil(RUNS / 40) : 2));
const SEED = process.env.MEDSOC_SAFETY_SEED ? Number(process.env.MEDSOC_SAFETY_SEED) : undefined;

const fleet = createFleet({ size: 3000, seed: 1 });
let sims: ResponseSystems;
let dir: string;
const totals = { scenarios: 0, runs: 0, changes: 0, approvals: 0 };

const POOL: DeviceFacts[] = [];
for (let i = 0; i < fleet.size && POOL.length < 400; i++) {
  const f = fleet.facts(i);
  if (f.deviceClass === "infusion_pump" && f.credential.kind !== "hard_coded" && f.clinicalServers.length)
    POOL.push(f);
}

type Clinical = "in_use" | "idle" | "unknown" | "stale";
type Decision = "approve" | "deny" | "expire";
type Failure =
  | "none"
  | "nac-readback"
  | "fw-readback"
  | "nac-5xx"
  | "fw-5xx"
  | "ticket-5xx"
  | "page-5xx"
  | "full-fails-after-restricted"
  | "push-ambiguous"
  | "push-offline";

interface Scenario {
  pumps: { state: Clinical; decision: Decision }[];
  offset: number;
  limit: number;
  points: ("ise" | "panos")[];
  clinicalServers: boolean;
  failure: Failure;
  blastDecision: Decision;
  rotate: { members: Clinical[]; decision: Decision } | null;
}

const clinical = fc.constantFrom<Clinical>("in_use", "idle", "unknown", "stale");
const decision = fc.constantFrom<Decision>("approve", "deny", "expire");
const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  pumps: fc.array(fc.record({ state: clinical, decision }), { minLength: 1, maxLength: 5 }),
  offset: fc.nat(POOL.length - 20),
  limit: fc.integer({ min: 0, max: 4 }),
  points: fc.constantFrom<("ise" | "panos")[]>(["ise", "panos"], ["ise"], ["panos"]),
  clinicalServers: fc.boolean(),
  failure: fc.constantFrom<Failure>(
    "none",
    "nac-readback",
    "fw-readback",
    "nac-5xx",
    "fw-5xx",
    "ticket-5xx",
    "page-5xx",
    "full-fails-after-restricted",
    "push-ambiguous",
    "push-offline",
  ),
  blastDecision: decision,
  rotate: fc.option(fc.record({ members: fc.array(clinical, { minLength: 1, maxLength: 4 }), decision }), {
    nil: null,
  }),
});

const keyOf = (f: DeviceFacts) => f.mac.replace(/:/g, "-").toUpperCase();
const normMac = (m: string) =>
  (
    m
      .replace(/[^0-9a-f]/gi, "")
      .toUpperCase()
      .match(/../g) ?? []
  ).join("-");

function docFor(f: DeviceFacts, state: Clinical, fp?: string): EcsDocument {
  const credential = fp ? { kind: "default" as const, fingerprint: fp, username: "service" } : undefined;
  const d = deviceDoc(f, {
    inUse: state === "in_use" ? true : state === "unknown" ? null : false,
    ...(credential ? { credential } : {}),
  });
  if (state === "stale") d["@timestamp"] = new Date(Date.now() - 2 * 86_400_000).toISOString();
  return d;
}

function resetSims() {
  sims.ise.anc.clear();
  sims.ise.modes.ignoreApply = false;
  sims.panos.modes.ignoreRegister = false;
  sims.panos.registered.clear();
  sims.servicenow.incidents.clear();
  sims.pagerduty.incidents.clear();
  sims.devices.failPush.clear();
  sims.devices.applyThenFail.clear();
  sims.devices.failVerify.clear();
  sims.devices.passwords.clear();
  sims.devices.pushes.clear();
  sims.vault.secrets.clear();
  sims.chat.slack.length = 0;
  for (const s of [sims.ise, sims.panos, sims.servicenow, sims.pagerduty, sims.devices, sims.vault]) {
    s.log.length = 0;
    for (const k of Object.keys(s.faults)) delete (s.faults as Record<string, unknown>)[k];
  }
}

before(async () => {
  sims = await startResponseSystems({ fleet });
  dir = await mkdtemp(join(tmpdir(), "medsoc-safety-props-"));
  for (const f of (await readdir("playbooks")).filter((x) => x.endsWith(".yaml")))
    await copyFile(join("playbooks", f), join(dir, f));
  // The per-point isolate and rotate playbooks these scenarios were written against.
  for (const f of await readdir("test/fixtures/playbooks-safety"))
    await copyFile(join("test/fixtures/playbooks-safety", f), join(dir, f));
});
after(async () => {
  await sims.stop();
  await rm(dir, { recursive: true, force: true });
  process.stdout.write(`# safety suite: ${JSON.stringify(totals)}\n`);
});

interface Setup {
  isolate: DeviceFacts[];
  rotate: DeviceFacts[];
  state: Map<string, Clinical>;
  decisionOf: Map<string, Decision>;
  docs: EcsDocument[];
  fp: string;
  config: Record<string, unknown>;
}

function setup(s: Scenario, n: number): Setup {
  const isolate = s.pumps.map((_, i) => POOL[s.offset + i] as DeviceFacts);
  const rotate = (s.rotate?.members ?? []).map((_, i) => POOL[s.offset + s.pumps.length + i] as DeviceFacts);
  const state = new Map<string, Clinical>();
  const decisionOf = new Map<string, Decision>();
  const fp = `fp${n.toString(16).padStart(14, "0")}`;
  const docs: EcsDocument[] = [];
  s.pumps.forEach((p, i) => {
    const f = isolate[i] as DeviceFacts;
    state.set(keyOf(f), p.state);
    decisionOf.set(keyOf(f), p.decision);
    docs.push(docFor(f, p.state));
  });
  s.rotate?.members.forEach((m, i) => {
    const f = rotate[i] as DeviceFacts;
    state.set(keyOf(f), m);
    docs.push(docFor(f, m, fp));
  });
  const all = sims.systemsConfig() as Record<string, unknown>;
  const systems: Record<string, unknown> = {};
  for (const k of Object.keys(all))
    if ((k !== "ise" && k !== "panos") || s.points.includes(k)) systems[k] = all[k];
  const config = {
    dir,
    systems,
    blastRadiusPerHour: s.limit,
    ...(s.clinicalServers ? {} : { clinicalServers: {} }),
  };
  return { isolate, rotate, state, decisionOf, docs, fp, config };
}

function inject(s: Scenario, x: Setup) {
  switch (s.failure) {
    case "nac-readback":
      sims.ise.modes.ignoreApply = true;
      break;
    case "fw-readback":
      sims.panos.modes.ignoreRegister = true;
      break;
    case "nac-5xx":
      sims.ise.faults.serverErrorNext = 1;
      break;
    case "fw-5xx":
      sims.panos.faults.serverErrorNext = 1;
      break;
    case "ticket-5xx":
      sims.servicenow.faults.serverErrorNext = 1;
      break;
    case "page-5xx":
      sims.pagerduty.faults.serverErrorNext = 1;
      break;
    case "push-ambiguous":
      for (const f of x.rotate.slice(0, 1)) {
        sims.devices.applyThenFail.add(keyOf(f));
        sims.devices.failVerify.add(keyOf(f));
      }
      break;
    case "push-offline":
      for (const f of x.rotate.slice(-1)) sims.devices.failPush.add(keyOf(f));
      break;
    default:
  }
}

/** Answers approvals the way the scenario says until every run is terminal. */
async function drive(h: Harness, s: Scenario, x: Setup, runIds: string[]): Promise<RunState[]> {
  const decided = new Set<string>();
  const deadline = Date.now() + 90_000;
  for (;;) {
    const runs = (await Promise.all(runIds.map((id) => h.runtime.store.getRun(id)))) as RunState[];
    if (runs.every((r) => r && ["succeeded", "failed", "denied"].includes(r.status))) return runs;
    if (Date.now() > deadline)
      throw new Error(
        `scenario did not settle: ${runs.map((r) => `${r?.playbookId}:${r?.status}`).join(", ")}`,
      );
    for (const r of runs) {
      if (r?.status !== "waiting_approval") continue;
      const st = Object.values(r.steps).find((v) => v.status === "waiting" && v.approvalId);
      if (!st?.approvalId || decided.has(st.approvalId)) continue;
      const a = await h.runtime.store.getApproval(st.approvalId);
      if (a?.status !== "pending") continue;
      decided.add(a.id);
      totals.approvals++;
      const d =
        a.role === "soc"
          ? s.blastDecision
          : r.playbookId === "rotate-shared-credentials"
            ? (s.rotate?.decision ?? "deny")
            : (x.decisionOf.get(r.deviceKey as string) ?? "deny");
      if (d === "expire")
        await h.runtime.engine.queue.add(
          "approval-timeout",
          { kind: "approval-timeout", runId: r.id, approvalId: a.id },
          { jobId: `t-now-${a.id}` },
        );
      else {
        if (
          d === "approve" &&
          a.role === "clinical_engineering" &&
          s.failure === "full-fails-after-restricted"
        )
          sims.ise.modes.ignoreApply = true;
        const res = await h.runtime.engine.decide(a.id, {
          approve: d === "approve",
          by: a.role === "soc" ? "analyst" : "dr.who",
          role: a.role,
        });
        assert.equal(res.ok, true, res.reason);
      }
    }
    await new Promise((res) => setTimeout(res, 25));
  }
}

interface Change {
  key: string;
  at: number;
  what: string;
  fullInEffect: boolean;
  containment: boolean;
}

/** What the simulators were asked to do, per device. */
function changes(x: Setup, clinicalServers: boolean): Change[] {
  const out: Change[] = [];
  const byIp = new Map<string, string>();
  const byMac = new Set<string>();
  for (const f of [...x.isolate, ...x.rotate]) {
    byIp.set(f.ip, keyOf(f));
    byMac.add(keyOf(f));
  }
  for (const l of sims.ise.log) {
    if (l.method !== "PUT" || !l.path.endsWith("/apply")) continue;
    const macs = (l.body.match(/([0-9a-f]{2}[:-]?){5}[0-9a-f]{2}/gi) ?? []).map(normMac);
    const full = /IOMT_QUARANTINE/.test(l.body);
    for (const m of macs)
      if (byMac.has(m))
        out.push({
          key: m,
          at: l.at,
          what: full ? "ise full" : "ise restricted",
          fullInEffect: full || !clinicalServers,
          containment: true,
        });
  }
  for (const l of sims.panos.log) {
    const cmd = new URLSearchParams(l.body).get("cmd") ?? "";
    if (!cmd.includes("<register>")) continue;
    const reg = cmd.slice(cmd.indexOf("<register>"), cmd.indexOf("</register>"));
    for (const m of reg.matchAll(/<entry ip="([^"]+)"[^>]*>([\s\S]*?)<\/entry>/g)) {
      const key = byIp.get(m[1] as string);
      if (!key) continue;
      const full = (m[2] as string).includes("iomt-quarantine");
      const restricted = (m[2] as string).includes("iomt-restricted");
      if (!full && !restricted) continue;
      out.push({
        key,
        at: l.at,
        what: full ? "panos full" : "panos restricted",
        fullInEffect: full || !clinicalServers,
        containment: true,
      });
    }
  }
  for (const l of sims.devices.log) {
    const m = /^\/api\/v1\/devices\/([0-9A-Fa-f:-]{17})\/credential$/.exec(l.path);
    if (l.method === "POST" && m)
      out.push({
        key: normMac(m[1] as string),
        at: l.at,
        what: "credential push",
        fullInEffect: true,
        containment: false,
      });
  }
  return out;
}

async function checkInvariants(
  h: Harness,
  s: Scenario,
  x: Setup,
  runs: RunState[],
  approvals: ApprovalRecord[],
  auditLines: string[],
): Promise<void> {
  const cs = changes(x, s.clinicalServers);
  totals.changes += cs.length;
  const ctx = () => JSON.stringify({ scenario: s, changes: cs.slice(0, 30) });
  const runOf = new Map<string, RunState[]>();
  for (const r of runs) {
    const keys =
      r.playbookId === "rotate-shared-credentials"
        ? [...x.rotate.map(keyOf), r.deviceKey as string]
        : [r.deviceKey as string];
    for (const k of keys) runOf.set(k, [...(runOf.get(k) ?? []), r]);
  }
  // 1. Clinical gate.
  for (const c of cs) {
    if (x.state.get(c.key) === "idle" || !c.fullInEffect) continue;
    const ok = approvals.some(
      (a) =>
        a.role === "clinical_engineering" &&
        a.status === "approved" &&
        (a.devices ? a.devices.includes(c.key) : a.deviceKey === c.key) &&
        Date.parse(a.decidedAt as string) <= c.at,
    );
    assert.ok(
      ok,
      `invariant 1: ${c.what} of ${c.key} (${x.state.get(c.key)}) without a prior clinical_engineering approval: ${ctx()}`,
    );
  }
  // 2. Blast radius across replicas: devices touched without a blast-radius approval ≤ limit.
  const automatic = new Set<string>();
  for (const c of cs) {
    const approvedRun = (runOf.get(c.key) ?? []).some((r) =>
      approvals.some((a) => a.runId === r.id && a.role === "soc" && a.status === "approved"),
    );
    if (!approvedRun) automatic.add(c.key);
  }
  assert.ok(
    automatic.size <= s.limit,
    `invariant 2: ${automatic.size} devices automatically > limit ${s.limit}: ${ctx()}`,
  );
  assert.ok(
    (await h.runtime.store.countContainments(Date.now(), 3_600_000)) <= s.limit,
    "invariant 2: reservations",
  );
  // 3. Last verified containment level kept.
  for (const r of runs.filter((r) => r.playbookId === "isolate-infusion-pump")) {
    const f = x.isolate.find((d) => keyOf(d) === r.deviceKey) as DeviceFacts;
    const verified = (id: string) =>
      r.steps[id]?.status === "completed" && r.steps[id]?.verification?.ok === true && !r.steps[id]?.undone;
    const anc = sims.ise.anc.get(f.mac);
    const tags = sims.panos.registered.get(f.ip);
    if (verified("restrict_nac"))
      assert.ok(
        anc === "IOMT_RESTRICTED" || anc === "IOMT_QUARANTINE",
        `invariant 3: NAC of ${r.deviceKey} below restricted (${anc}): ${ctx()}`,
      );
    if (verified("restrict_fw"))
      assert.ok(
        tags?.has("iomt-restricted") || tags?.has("iomt-quarantine"),
        `invariant 3: firewall of ${r.deviceKey} below restricted: ${ctx()}`,
      );
    if (r.status === "succeeded" && verified("isolate_nac"))
      assert.equal(anc, "IOMT_QUARANTINE", `invariant 3: NAC of ${r.deviceKey} below full after success`);
  }
  // 4. Ticket and page for every run.
  const incidents = [...sims.servicenow.incidents.values()].map((i) => i.correlation_id);
  for (const r of runs) {
    const id = r.playbookId === "rotate-shared-credentials" ? `rotate:${x.fp}` : `isolate:${r.deviceKey}`;
    assert.ok(incidents.includes(`medsoc:${id}`), `invariant 4: no ticket for ${id} (${r.status}): ${ctx()}`);
    assert.ok(sims.pagerduty.incidents.has(id), `invariant 4: no page for ${id} (${r.status}): ${ctx()}`);
  }
  // 5. Audit chain.
  const v = verifyChain(auditLines, AUDIT_TEST_KEY);
  assert.equal(v.ok, true, `invariant 5: audit chain: ${JSON.stringify(v)}`);
}

async function startRuns(h: Harness, s: Scenario, x: Setup): Promise<string[]> {
  h.runtime.directory.observe(x.docs);
  inject(s, x);
  const starts = await Promise.all([
    ...x.isolate.map((f) => h.runtime.engine.start({ playbookId: "isolate-infusion-pump", device: f.mac })),
    ...(x.rotate.length
      ? [
          h.runtime.engine.start({
            playbookId: "rotate-shared-credentials",
            device: (x.rotate[0] as DeviceFacts).mac,
            inputs: { fingerprint: x.fp },
          }),
        ]
      : []),
  ]);
  for (const st of starts) assert.equal(st.status, "running", st.reason);
  totals.runs += starts.length;
  return starts.map((st) => st.runId);
}

let counter = 0;

describe("generated safety scenarios", () => {
  test(`memory driver: ${RUNS} scenarios`, { timeout: Math.max(110_000, RUNS * 15_000) }, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        resetSims();
        const x = setup(s, ++counter);
        const h = await startHarness({ driver: "memory", fleet, sims, playbooks: x.config });
        try {
          const ids = await startRuns(h, s, x);
          const runs = await drive(h, s, x, ids);
          await h.runtime.audit.flush();
          const lines = (await readFile(h.auditFile, "utf8")).split("\n").filter(Boolean);
          await checkInvariants(h, s, x, runs, await h.runtime.store.listApprovals(), lines);
          totals.scenarios++;
          if (RUNS >= 100 && totals.scenarios % 100 === 0)
            process.stderr.write(`# safety suite progress: ${JSON.stringify(totals)}\n`);
        } finally {
          await h.close();
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  });

  test(`BullMQ on Redis, two worker processes: ${REDIS_RUNS} scenarios`, {
    timeout: Math.max(110_000, REDIS_RUNS * 30_000),
  }, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        resetSims();
        const x = setup(s, ++counter);
        const h = await startHarness({ driver: "bullmq", fleet, sims, playbooks: x.config });
        const docsFile = join(dir, `docs-${counter}.json`);
        let child: ChildProcess | undefined;
        try {
          await writeFile(docsFile, JSON.stringify(x.docs));
          const { dir: _d, systems, ...extra } = x.config;
          child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/playbook-worker.ts"], {
            env: {
              ...process.env,
              MEDSOC_PB_PREFIX: h.prefix,
              MEDSOC_PB_SYSTEMS: JSON.stringify(systems),
              MEDSOC_PB_EXTRA: JSON.stringify({ ...extra, dir }),
              MEDSOC_PB_DOCS: docsFile,
            },
            stdio: ["ignore", "pipe", "inherit"],
          });
          await new Promise<void>((resolve, reject) => {
            child?.stdout?.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
            child?.on("exit", (code) => reject(new Error(`worker exited ${code}`)));
          });
          const ids = await startRuns(h, s, x);
          const runs = await drive(h, s, x, ids);
          await h.runtime.audit.flush();
          const redis = new Redis(REDIS_URL);
          const lines = await redis.lrange(`${h.prefix}:pb:audit`, 0, -1);
          redis.disconnect();
          await checkInvariants(h, s, x, runs, await h.runtime.store.listApprovals(), lines);
          totals.scenarios++;
        } finally {
          child?.kill("SIGKILL");
          await h.close();
          await rm(docsFile, { force: true });
        }
      }),
      { numRuns: REDIS_RUNS, seed: SEED, endOnFailure: true },
    );
  });
});

export type { ChildProcess };
