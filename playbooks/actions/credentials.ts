/**
 * `credential.rotate`: a unique password per device (response.md §6 rotation pattern and §10):
 * read the vault key (version N) → write the new password with `cas=N` (escrowed first, so it is
 * never lost) → push it through the device-credential target → verify on the device → on any
 * failure roll that device's vault key back to version N. Devices are independent: one failure
 * rolls back only its own entry. Idempotent per (run, step, device): a re-run finds its own
 * `rotation_id` in the vault and continues from there instead of generating another password.
 *
 * An ambiguous push failure (network error, timeout or 5xx: the server may have applied it before the
 * answer was lost) is resolved by reading back: the device accepts the new password → rotated; it
 * rejects it → not applied, rolled back; no read-back possible → `unknown` ("device state unknown"),
 * the vault keeps the new password (the previous version stays in its history), and the step's
 * verification fails so the run pages. Never reported as rolled back.
 */
import { randomBytes, randomInt } from "node:crypto";
import { getMaxListeners, setMaxListeners } from "node:events";
import { z } from "zod";
import { isRetryable } from "../../core/errors.ts";
import { Secret } from "../../core/secret.ts";
import { type CredentialTarget, HardCodedCredentialError } from "./device-credential.ts";
import type { Action, ActionContext } from "./types.ts";
import type { VaultClient } from "./vault.ts";

export interface DeviceRotation {
  key: string;
  status: "rotated" | "manual" | "rolled_back" | "hard_coded" | "failed" | "unknown";
  vaultPath: string;
  version?: number;
  previousVersion?: number;
  detail: string;
}

const deviceSchema = z.object({
  key: z.string().min(1),
  mac: z.string().optional(),
  ip: z.string().optional(),
  name: z.string().optional(),
  username: z.string().min(1).default("service"),
});
const input = z.strictObject({
  devices: z.array(deviceSchema),
  concurrency: z.number().int().min(1).max(32).default(8),
});
type Input = z.infer<typeof input>;

/** 24 characters from four classes, from the CSPRNG. */
export function generatePassword(): string {
  const sets = ["ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "!#%+-=?@^_"];
  const all = sets.join("");
  const chars = sets.map((s) => s[randomInt(s.length)] as string);
  const bytes = randomBytes(20);
  for (const b of bytes) chars.push(all[b % all.length] as string);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join("");
}

async function retrying<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let a = 1; ; a++) {
    try {
      return await fn();
    } catch (error) {
      if (a >= attempts || !isRetryable(error)) throw error;
      await new Promise((r) => setTimeout(r, 200 * a));
    }
  }
}

export function credentialActions(vault: VaultClient, target: CredentialTarget): Action[] {
  async function one(d: z.infer<typeof deviceSchema>, ctx: ActionContext): Promise<DeviceRotation> {
    const path = vault.path(d.key);
    const rotationId = `${ctx.idempotencyKey}-${d.key}`;
    const cur = await retrying(() => vault.read(ctx, path));
    let password: Secret;
    let version: number;
    let previous: number;
    if (cur.data?.rotation_id === rotationId && typeof cur.data.password === "string") {
      password = new Secret(cur.data.password);
      version = cur.version;
      previous = Number(cur.data.previous_version ?? 0);
    } else {
      password = new Secret(generatePassword());
      previous = cur.version;
      version = await retrying(() =>
        vault.write(
          ctx,
          path,
          {
            username: d.username,
            password: password.reveal(),
            rotation_id: rotationId,
            previous_version: previous,
            rotated_at: ctx.now().toISOString(),
            device: d.key,
          },
          previous,
        ),
      );
    }
    const rollback = async (status: DeviceRotation["status"], why: string): Promise<DeviceRotation> => {
      try {
        await retrying(() => vault.rollback(ctx, path, previous, version));
        return {
          key: d.key,
          status,
          vaultPath: path,
          previousVersion: previous,
          detail: `${why}; vault rolled back to version ${previous || "none (soft-deleted)"}`,
        };
      } catch (error) {
        return {
          key: d.key,
          status: "failed",
          vaultPath: path,
          version,
          previousVersion: previous,
          detail: `${why}; vault rollback failed too: ${(error as Error).message}`,
        };
      }
    };
    try {
      const pushed = await retrying(() => target.rotate(d, password, ctx));
      if (pushed.manual)
        return {
          key: d.key,
          status: "manual",
          vaultPath: path,
          version,
          previousVersion: previous,
          detail: pushed.detail,
        };
      const ok = await retrying(() => target.verify(d, password, ctx));
      if (ok !== true)
        return rollback("rolled_back", "the device does not accept the new password (read-back)");
      return {
        key: d.key,
        status: "rotated",
        vaultPath: path,
        version,
        previousVersion: previous,
        detail: "pushed and verified on the device",
      };
    } catch (error) {
      if (error instanceof HardCodedCredentialError)
        return rollback("hard_coded", "the credential is fixed in firmware");
      if (!isRetryable(error)) return rollback("rolled_back", `push refused: ${(error as Error).message}`);
      // Ambiguous: the push may have reached the device. Read back before touching the vault.
      let accepted: boolean | undefined;
      let readBackError: string | undefined;
      try {
        accepted = await retrying(() => target.verify(d, password, ctx));
      } catch (e) {
        readBackError = (e as Error).message;
      }
      if (accepted === true)
        return {
          key: d.key,
          status: "rotated",
          vaultPath: path,
          version,
          previousVersion: previous,
          detail: `push answered "${(error as Error).message}", but the device accepts the new password (read back)`,
        };
      if (accepted === false)
        return rollback(
          "rolled_back",
          `push failed (${(error as Error).message}); the device still rejects the new password (read back), so it was not applied`,
        );
      return {
        key: d.key,
        status: "unknown",
        vaultPath: path,
        version,
        previousVersion: previous,
        detail: `device state unknown: the push failed ambiguously (${(error as Error).message}) and the read-back ${readBackError ? `failed too (${readBackError})` : "was not possible"}; the vault keeps the new password as version ${version} (previous version ${previous} kept); check the device before using either`,
      };
    }
  }

  const rotate: Action<Input, { devices: DeviceRotation[]; counts: Record<string, number> }> = {
    name: "credential.rotate",
    description:
      "Unique password per device: vault (CAS) → device-credential target → verify; per-device vault rollback on failure.",
    kind: "credential",
    input,
    async plan(i) {
      return {
        summary: `rotate the credential of ${i.devices.length} device(s) through ${target.name}: new unique password per device into vault ${vault.c.mount}/${vault.c.pathPrefix}/<device> (cas), push, verify, roll back on failure`,
        calls: i.devices.slice(0, 20).flatMap((d) => [
          {
            system: "vault",
            method: "POST",
            url: `${vault.c.baseUrl}/v1/${vault.c.mount}/data/${vault.path(d.key)}`,
          },
          { system: "device_credential", method: "POST", url: `${target.name}:${d.key}` },
        ]),
        noop: i.devices.length === 0,
      };
    },
    async execute(i, ctx) {
      const out: DeviceRotation[] = new Array(i.devices.length);
      let next = 0;
      // Each worker's in-flight request listens on the run's abort signal: room for all of them
      // (Node warns of a leak past 10 listeners; a rotation of hundreds of devices runs 8 at once).
      if (ctx.signal)
        setMaxListeners(Math.max(getMaxListeners(ctx.signal), 10 + 2 * i.concurrency), ctx.signal);
      await Promise.all(
        Array.from({ length: Math.min(i.concurrency, i.devices.length) }, async () => {
          while (next < i.devices.length) {
            const k = next++;
            out[k] = await one(i.devices[k] as z.infer<typeof deviceSchema>, ctx);
          }
        }),
      );
      const counts: Record<string, number> = {};
      for (const r of out) counts[r.status] = (counts[r.status] ?? 0) + 1;
      return { devices: out, counts };
    },
    async verify(i, o, ctx) {
      // Read back: every rotated device's vault version is current and the device accepts it.
      const bad: string[] = o.devices
        .filter((x) => x.status === "unknown")
        .map((x) => `${x.key}: device state unknown (ambiguous push failure)`);
      for (const r of o.devices.filter((x) => x.status === "rotated")) {
        const cur = await vault.read(ctx, r.vaultPath);
        const d = i.devices.find((x) => x.key === r.key);
        if (cur.version !== r.version || typeof cur.data?.password !== "string" || !d) {
          bad.push(`${r.key}: vault is at version ${cur.version}, expected ${r.version}`);
          continue;
        }
        if ((await target.verify(d, new Secret(cur.data.password), ctx)) !== true)
          bad.push(`${r.key}: device rejects the vault password`);
      }
      return bad.length
        ? { ok: false, detail: bad.slice(0, 10).join("; ") }
        : {
            ok: true,
            detail: `${JSON.stringify(o.counts)}; every rotated device verified against the vault`,
          };
    },
  };
  return [rotate as Action];
}
