/**
 * HashiCorp Vault KV version 2 client for credential escrow (response.md §6): `X-Vault-Token` or
 * AppRole login (re-login before `lease_duration` ends and once on 403), read with version, write
 * with check-and-set, and roll back to the previous version (write version N's data back with
 * `cas`, or soft-delete when there was no previous version). Never `destroy`.
 */

import { z } from "zod";
import { secretSchema } from "../../core/config-fields.ts";
import { PermanentError } from "../../core/errors.ts";
import type { Secret } from "../../core/secret.ts";
import type { IssuedToken } from "../../core/token-cache.ts";
import { actionTokens, call, withToken } from "./http.ts";
import type { ActionContext } from "./types.ts";
import { defineSystem } from "./types.ts";

/** `playbooks.systems.vault` as parsed (declared once, below: `vaultConfigSchema`). */
export type VaultConfig = z.output<typeof vaultConfigSchema>;

export interface KvRead {
  version: number;
  data: Record<string, unknown> | null;
}

export class VaultClient {
  // A static token never expires here (Vault's 403 on a revoked one is final after one retry); an
  // AppRole token is renewed a little before its lease ends.
  readonly #tokens = actionTokens((ctx) => this.#login(ctx), 0);
  constructor(readonly c: VaultConfig) {
    if (!c.token && !c.appRole) throw new PermanentError("vault: set token or appRole");
  }

  async #login(ctx: ActionContext): Promise<IssuedToken> {
    if (!this.c.appRole)
      return { value: (this.c.token as Secret).reveal(), expiresAt: Number.POSITIVE_INFINITY };
    const r = await call(ctx, {
      system: "vault",
      method: "POST",
      url: new URL("/v1/auth/approle/login", this.c.baseUrl).toString(),
      body: { role_id: this.c.appRole.roleId, secret_id: this.c.appRole.secretId.reveal() },
      secrets: [this.c.appRole.secretId],
      context: "logging in to vault with approle",
    });
    const auth = (r.body as { auth?: { client_token?: string; lease_duration?: number } })?.auth;
    if (!auth?.client_token)
      throw new PermanentError("logging in to vault with approle: no client_token in the answer");
    // Re-login a little before the lease ends.
    return {
      value: auth.client_token,
      expiresAt: Date.now() + Math.max(1, (auth.lease_duration ?? 3600) - 30) * 1000 * 0.9,
    };
  }

  async #send(ctx: ActionContext, method: "GET" | "POST", path: string, context: string, body?: unknown) {
    return withToken(this.#tokens, ctx, (token) =>
      call(ctx, {
        system: "vault",
        method,
        url: new URL(`/v1/${this.c.mount}/${path}`, this.c.baseUrl).toString(),
        headers: {
          "x-vault-token": token,
          ...(this.c.namespace ? { "x-vault-namespace": this.c.namespace } : {}),
        },
        body,
        secrets: [token],
        context,
      }),
    );
  }

  path(deviceKey: string): string {
    return `${this.c.pathPrefix}/${deviceKey.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
  }

  /** Current (or given) version; version 0 and `data: null` when the key does not exist. */
  async read(ctx: ActionContext, path: string, version?: number): Promise<KvRead> {
    try {
      const r = await this.#send(
        ctx,
        "GET",
        `data/${path}${version ? `?version=${version}` : ""}`,
        `reading vault ${path}`,
      );
      const d = (r.body as { data?: { data?: Record<string, unknown>; metadata?: { version?: number } } })
        ?.data;
      return { version: d?.metadata?.version ?? 0, data: d?.data ?? null };
    } catch (error) {
      if (error instanceof PermanentError && /HTTP 404/.test(error.message)) {
        if (version) return { version, data: null };
        return { version: await this.currentVersion(ctx, path), data: null };
      }
      throw error;
    }
  }

  async currentVersion(ctx: ActionContext, path: string): Promise<number> {
    try {
      const r = await this.#send(ctx, "GET", `metadata/${path}`, `reading vault metadata of ${path}`);
      return (r.body as { data?: { current_version?: number } })?.data?.current_version ?? 0;
    } catch (error) {
      if (error instanceof PermanentError && /HTTP 404/.test(error.message)) return 0;
      throw error;
    }
  }

  /** Writes with check-and-set; returns the new version. A CAS mismatch is a `PermanentError`. */
  async write(ctx: ActionContext, path: string, data: Record<string, unknown>, cas: number): Promise<number> {
    const r = await this.#send(ctx, "POST", `data/${path}`, `writing vault ${path} (cas ${cas})`, {
      options: { cas },
      data,
    });
    return (r.body as { data?: { version?: number } })?.data?.version ?? cas + 1;
  }

  /** Makes version `previous` current again (a new version holding its data), or soft-deletes when there was none. */
  async rollback(ctx: ActionContext, path: string, previous: number, current: number): Promise<number> {
    if (previous === 0) {
      await this.#send(ctx, "POST", `delete/${path}`, `soft-deleting vault ${path}`, { versions: [current] });
      return 0;
    }
    const old = await this.read(ctx, path, previous);
    if (!old.data)
      throw new PermanentError(`rolling back vault ${path}: version ${previous} is deleted or destroyed`);
    return this.write(ctx, path, old.data, current);
  }
}

const url = z.string().url();

/** `playbooks.systems.vault`: HashiCorp Vault KV v2 (credential escrow). Either `token` or `appRole`. */
export const vaultConfigSchema = z
  .strictObject({
    baseUrl: url,
    /** @defaultValue "secret" */
    mount: z.string().default("secret"),
    /** @defaultValue "medsoc/devices" */
    pathPrefix: z.string().default("medsoc/devices"),
    namespace: z.string().optional(),
    token: secretSchema.optional(),
    appRole: z.strictObject({ roleId: z.string().min(1), secretId: secretSchema }).optional(),
  })
  .refine((v) => v.token || v.appRole, { message: "set token or appRole" });

/** HashiCorp Vault KV v2 (credential escrow). Either `token` or `appRole`: the one declaration of this system (settings, actions). */
export const vaultSystem = defineSystem({
  id: "vault",
  title: "HashiCorp Vault KV v2 (credential escrow). Either `token` or `appRole`.",
  config: vaultConfigSchema,
  actions: ["credential.rotate"],
});
