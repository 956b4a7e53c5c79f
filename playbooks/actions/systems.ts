/**
 * Every outside system the response actions can call, each declared once in its action file
 * (`defineSystem`: settings schema, actions, enforcement point). The `playbooks.systems` config
 * schema (and so docs/configuration.md), the action catalogue playbooks are validated against, the
 * actions built for a deployment and the enforcement points of `contain.apply` are all derived from
 * this list. Adding a system: its action file, and one line here.
 */
import type { z } from "zod";
import { armisSystem } from "./armis.ts";
import { slackSystem, teamsSystem } from "./chat.ts";
import { clearpassSystem } from "./clearpass.ts";
import { cyberarkSystem } from "./cyberark.ts";
import { deviceCredentialsSystem } from "./device-credential.ts";
import { forescoutSystem } from "./forescout.ts";
import { fortigateSystem } from "./fortigate.ts";
import { iseSystem } from "./ise.ts";
import { pagerdutySystem } from "./pagerduty.ts";
import { panosSystem } from "./panos.ts";
import { servicenowSystem } from "./servicenow.ts";
import type { ActionSystem, EnforcementPoint } from "./types.ts";
import { vaultSystem } from "./vault.ts";
import { xdomeSystem } from "./xdome.ts";

/** In the order of the configuration reference. */
export const ACTION_SYSTEMS = [
  iseSystem,
  panosSystem,
  vaultSystem,
  deviceCredentialsSystem,
  servicenowSystem,
  pagerdutySystem,
  slackSystem,
  teamsSystem,
  clearpassSystem,
  fortigateSystem,
  armisSystem,
  xdomeSystem,
  forescoutSystem,
  cyberarkSystem,
] as const;

type System = (typeof ACTION_SYSTEMS)[number];
export type SystemsShape = { [S in System as S["id"]]: z.ZodOptional<S["config"]> };

/** The shape of `playbooks.systems`: every system's settings, optional, described by its title. */
export function systemsShape(): SystemsShape {
  return Object.fromEntries(
    ACTION_SYSTEMS.map((s) => [s.id, (s.config as z.ZodType).optional().describe(s.title)]),
  ) as SystemsShape;
}

const STAGES = ["nac", "firewall", "monitor"] as const;

/**
 * Every enforcement point medsoc can drive, in the order they are applied: network access control
 * first (it moves the session), then the firewalls, then the monitor markers other systems act on.
 */
export const ENFORCEMENT_POINTS: readonly EnforcementPoint[] = STAGES.flatMap((stage) =>
  (ACTION_SYSTEMS as readonly ActionSystem[])
    .filter((s) => s.stage === stage && s.enforcementPoint)
    .map((s) => ({ system: s.id, ...(s.enforcementPoint as Omit<EnforcementPoint, "system">) })),
);

/** Action name → the system it needs, for every system-bound action. */
export const SYSTEM_ACTIONS: Record<string, string> = Object.fromEntries(
  ACTION_SYSTEMS.flatMap((s) => s.actions.map((a) => [a, s.id])),
);

// Never unused: keeps `z` a value import for the `.optional()` wrappers' types.
export type SystemsSettings = z.output<z.ZodObject<SystemsShape>>;
