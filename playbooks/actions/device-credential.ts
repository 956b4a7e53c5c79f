/**
 * The device side of credential rotation (response.md §10). No public API exists for infusion-pump
 * management servers, so the device is a pluggable {@link CredentialTarget}:
 * - `http`: a management server that changes and verifies a device's service credential (the
 *   simulated pump server implements medsoc's model of it);
 * - `manual`: opens a ticket with a checklist for clinical engineering and reports the device as
 *   waiting for a person; the new password waits in the vault until they confirm.
 */

import { z } from "zod";
import { secretSchema } from "../../core/config-fields.ts";
import { PermanentError } from "../../core/errors.ts";
import type { Secret } from "../../core/secret.ts";
import { call, macDashes } from "./http.ts";
import type { ActionContext } from "./types.ts";
import { defineSystem } from "./types.ts";

export interface CredentialDevice {
  key: string;
  mac?: string;
  ip?: string;
  name?: string;
  username: string;
}

export interface CredentialTarget {
  readonly name: string;
  /** Sets `secret` on the device. `manual` when a person must do it (ticket reference in `detail`). */
  rotate(
    device: CredentialDevice,
    secret: Secret,
    ctx: ActionContext,
  ): Promise<{ applied: boolean; manual: boolean; detail: string }>;
  /** Reads back whether the device accepts `secret` (false/undefined: not verifiable yet). */
  verify(device: CredentialDevice, secret: Secret, ctx: ActionContext): Promise<boolean | undefined>;
}

/** Thrown by a target for a device whose credential cannot be changed (fixed in firmware). */
export class HardCodedCredentialError extends PermanentError {}

export class HttpCredentialTarget implements CredentialTarget {
  readonly name = "http";
  constructor(readonly c: { baseUrl: string; token: Secret }) {}
  async #post(ctx: ActionContext, path: string, body: unknown, context: string) {
    return call(ctx, {
      system: "device_manager",
      method: "POST",
      url: new URL(path, this.c.baseUrl).toString(),
      headers: { authorization: `Bearer ${this.c.token.reveal()}` },
      body,
      secrets: [this.c.token],
      context,
    });
  }
  async rotate(d: CredentialDevice, secret: Secret, ctx: ActionContext) {
    if (!d.mac) throw new PermanentError(`device ${d.key} has no MAC for the management server`);
    try {
      await this.#post(
        ctx,
        `/api/v1/devices/${macDashes(d.mac)}/credential`,
        { username: d.username, password: secret.reveal() },
        `pushing the new credential to ${d.key}`,
      );
    } catch (error) {
      if (error instanceof PermanentError && /HTTP 422/.test(error.message))
        throw new HardCodedCredentialError(error.message);
      throw error;
    }
    return { applied: true, manual: false, detail: "changed through the management server" };
  }
  async verify(d: CredentialDevice, secret: Secret, ctx: ActionContext) {
    if (!d.mac) return undefined;
    const r = await this.#post(
      ctx,
      `/api/v1/devices/${macDashes(d.mac)}/credential/verify`,
      { username: d.username, password: secret.reveal() },
      `verifying the credential of ${d.key}`,
    );
    return (r.body as { valid?: boolean })?.valid === true;
  }
}

/** Opens one ticket per device for clinical engineering; the rotation waits for a person. */
export class ManualCredentialTarget implements CredentialTarget {
  readonly name = "manual";
  constructor(
    readonly openTicket: (d: CredentialDevice, checklist: string[], ctx: ActionContext) => Promise<string>,
  ) {}
  async rotate(d: CredentialDevice, _secret: Secret, ctx: ActionContext) {
    const checklist = [
      `Confirm ${d.name ?? d.key} is not in use (no infusion running) before touching it.`,
      `Fetch the new password for ${d.username} from the vault path recorded in the run (never from chat or e-mail).`,
      "Set it on the device or its management server following the manufacturer's service manual.",
      "Log in once with the new password to confirm it, then log out.",
      "Mark this ticket resolved; medsoc then verifies and closes the rotation.",
    ];
    const ticket = await this.openTicket(d, checklist, ctx);
    return { applied: false, manual: true, detail: `manual task ${ticket} for clinical engineering` };
  }
  async verify() {
    return undefined;
  }
}

const url = z.string().url();

/** `playbooks.systems.deviceCredentials`: Where device passwords are changed: a management server (`http`) or a ticket for a person (`manual`). */
export const deviceCredentialsConfigSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("http"), baseUrl: url, token: secretSchema }),
  z.strictObject({ type: z.literal("manual") }),
]);

/** Where device passwords are changed: a management server (`http`) or a ticket for a person (`manual`): the one declaration of this system (settings, actions). */
export const deviceCredentialsSystem = defineSystem({
  id: "deviceCredentials",
  title:
    "Where device passwords are changed: a management server (`http`) or a ticket for a person (`manual`).",
  config: deviceCredentialsConfigSchema,
  actions: [],
});
