/**
 * The `playbooks:` section of medsoc.yaml: where playbooks and rules live, the guards, the audit
 * file, approvers (API keys with identity and roles), SIEM triggers, and the outside systems the
 * response actions call. Every secret is a `Secret`.
 */
import { z } from "zod";
import { secretSchema } from "../core/config-fields.ts";
import { systemsShape } from "./actions/systems.ts";

const url = z.string().url();

/**
 * `playbooks.systems`: one optional section per outside system, each declared once, in its action
 * file (settings schema, actions, enforcement point), and listed in `actions/systems.ts`.
 */
export const systemsSchema = z.strictObject(systemsShape());

/**
 * One approver: a named person with a role and the personal channel(s) the approval link is sent to.
 * ASSUMED: a Slack incoming webhook can be installed into a direct message with the person (the
 * app's DM) and a Teams Workflows webhook can post into a one-to-one chat; both answer like the
 * channel webhooks of response.md §13. A shared channel is never a personal channel.
 */
export const approverSchema = z
  .strictObject({
    /**
     * The person: the value of the OIDC identity claim (`approvals.oidc.identityClaim`) or, without
     * OIDC, the identity one-time links are bound to. Recorded as who decided.
     */
    identity: z.string().min(1),
    /** Display name on the page and in the message. @defaultValue the identity */
    name: z.string().min(1).optional(),
    /** Role this person approves for (`clinical_engineering`, `soc`). */
    role: z.string().min(1),
    /** Slack incoming webhook posting into a direct message with this person (a secret URL). */
    slackWebhookUrl: secretSchema.optional(),
    /** Teams Workflows webhook posting into a chat with this person (a secret URL). */
    teamsWebhookUrl: secretSchema.optional(),
  })
  .refine((a) => a.slackWebhookUrl || a.teamsWebhookUrl, {
    message:
      "give slackWebhookUrl or teamsWebhookUrl: the personal channel this approver's link is sent to (never a shared channel)",
  });

/** Sign-in of approvers at the hospital's identity provider (OIDC authorization code + PKCE). */
export const oidcSchema = z.strictObject({
  /** Issuer URL; its `/.well-known/openid-configuration` is read at the first sign-in. */
  issuer: url,
  clientId: z.string().min(1),
  /** Client secret of a confidential client (client_secret_basic); absent = public client, PKCE only. */
  clientSecret: secretSchema.optional(),
  /** @defaultValue ["openid", "profile", "email"] */
  scopes: z.array(z.string().min(1)).default(["openid", "profile", "email"]),
  /** Claim naming the person (recorded as who decided). @defaultValue "preferred_username" */
  identityClaim: z.string().min(1).default("preferred_username"),
  /** Claim holding the person's groups or roles (a string or an array of strings). @defaultValue "groups" */
  rolesClaim: z.string().min(1).default("groups"),
  /** Group/role claim value → medsoc roles (`{"CE-Approvers": ["clinical_engineering"]}`). Unmapped values give no role. */
  roleMapping: z.record(z.string().min(1), z.array(z.string().min(1)).min(1), {
    error: 'required: group/role claim value → medsoc roles, e.g. {"CE-Approvers": ["clinical_engineering"]}',
  }),
  /** Allow an `http://` issuer (a lab or test identity provider only). @defaultValue false */
  allowInsecureHttp: z.boolean().default(false),
});

export const approvalsSchema = z
  .strictObject({
    /**
     * Public base URL of this API as approvers' browsers reach it: links point here, the OIDC
     * redirect URI is `<publicUrl>/approvals/oidc/callback`, and a decision POST must come from
     * this origin. @defaultValue "http://127.0.0.1:8787"
     */
    publicUrl: url.default("http://127.0.0.1:8787"),
    /**
     * Key (at least 32 characters) that signs one-time links, approver sessions, sign-in state and
     * CSRF tokens. Required once approvers or OIDC are configured; every replica needs the same one.
     */
    linkSecret: secretSchema
      .refine((s) => s.reveal().length >= 32, {
        message: "must be at least 32 characters (for example `openssl rand -base64 32`)",
      })
      .optional(),
    /** One-time link lifetime, minutes (never beyond the approval's expiry). @defaultValue 60 */
    linkTtlMinutes: z.number().int().min(1).default(60),
    /** Approver session lifetime after sign-in or opening a link, minutes. @defaultValue 15 */
    sessionMinutes: z.number().int().min(1).max(720).default(15),
    /** Approvers the request is delivered to, each on their own channel. @defaultValue [] */
    approvers: z.array(approverSchema).default([]),
    /** OIDC sign-in; without it approvers get one-time links bound to them. */
    oidc: oidcSchema.optional(),
    /** Page the on-call (PagerDuty, when configured) with every approval request. @defaultValue true */
    pageOnCall: z.boolean().default(true),
  })
  .superRefine((a, ctx) => {
    if ((a.approvers.length > 0 || a.oidc) && !a.linkSecret)
      ctx.addIssue({
        code: "custom",
        path: ["linkSecret"],
        message:
          "required when approvers or oidc are configured: it signs links, sessions and CSRF tokens (for example from the MEDSOC_LINK_SECRET environment variable)",
      });
    if (a.oidc?.issuer.startsWith("http:") && !a.oidc.allowInsecureHttp)
      ctx.addIssue({
        code: "custom",
        path: ["oidc", "issuer"],
        message: "must be https (set allowInsecureHttp: true only for a lab identity provider)",
      });
  });

const triggerBase = {
  /** Name used in the audit trail and in the Splunk path. */
  name: z.string().regex(/^[a-z0-9_-]+$/),
  /** Playbook run when the payload names none (or names one not in `allowedPlaybooks`). */
  playbook: z.string().min(1),
  /** Playbooks a payload may ask for. @defaultValue only `playbook` */
  allowedPlaybooks: z.array(z.string()).optional(),
  /** This trigger's de-duplication window, minutes. @defaultValue `triggers.dedupWindowMinutes` */
  dedupWindowMinutes: z.number().int().min(0).optional(),
};

export const playbooksConfigSchema = z.strictObject({
  /**
   * Run playbooks in this process (rules, triggers, step workers). Off unless set in a config file
   * (playbooks act on the network); on in the embedded default. @defaultValue false in a config file
   */
  enabled: z.boolean().default(true),
  /** Folder of playbook YAML files. @defaultValue the shipped `playbooks/` */
  dir: z.string().optional(),
  /** Folder of detection rules. @defaultValue the shipped `playbooks/rules/` */
  rulesDir: z.string().optional(),
  /** Automatic containments per hour before every containment needs an approval. @defaultValue 10 */
  blastRadiusPerHour: z.number().int().min(0).default(10),
  /** Who approves above the blast radius. @defaultValue "soc" */
  blastRadiusRole: z.string().default("soc"),
  /**
   * Clinical gate: an in-use observation older than this many minutes is stale, and a stale "not in
   * use" counts as "may be in use" (restricted only; more needs clinical engineering). @defaultValue 30
   */
  clinicalStateMaxAgeMinutes: z.number().positive().max(10_080).default(30),
  /** Who approves more than restricted containment, or a credential change, on a device that may be in use. @defaultValue "clinical_engineering" */
  clinicalRole: z.string().min(1).default("clinical_engineering"),
  /** How long the engine's clinical-gate approval waits (silence is a no), minutes. @defaultValue 30 */
  clinicalApprovalTimeoutMinutes: z.number().positive().default(30),
  /** Lease of device locks and runs, seconds: renewed while a run is active; a lapsed run is reaped. @defaultValue 600 */
  leaseSeconds: z.number().positive().max(86_400).default(600),
  /** Step jobs at once in this process. @defaultValue 4 */
  concurrency: z.number().int().min(1).max(64).default(4),
  /** Default time limit of one step attempt, ms. @defaultValue 30000 */
  stepTimeoutMs: z.number().int().min(100).default(30_000),
  /** Audit NDJSON file (HMAC-chained). @defaultValue `<out>/audit-chain.ndjson` in the embedded default, none otherwise */
  auditFile: z.string().optional(),
  /** The audit chain's key and its signed head checkpoints (docs/audit-and-triggers.md). */
  audit: z
    .strictObject({
      /**
       * HMAC-SHA256 key of the chain and its checkpoints. Required with Redis (every worker uses
       * it). @defaultValue `keyFile`, else `audit.key` generated beside `auditFile`
       */
      key: secretSchema.optional(),
      /** File holding the key (created, mode 0600, in a file-only deployment). */
      keyFile: z.string().optional(),
      checkpoints: z
        .strictObject({
          /** Checkpoint NDJSON file. @defaultValue `audit-checkpoints.ndjson` beside `auditFile` */
          file: z.string().optional(),
          /** Redis of the checkpoints (a different one than the chain's is best). @defaultValue the queue's Redis */
          redisUrl: z.string().url().optional(),
          /** Redis key prefix of the checkpoints. @defaultValue `<queue prefix>:audit-anchor` */
          prefix: z.string().min(1).optional(),
          /** Checkpoint a moved head this often, seconds (0 = only at run ends, `everyEntries` and close). @defaultValue 60 */
          intervalSeconds: z.number().int().min(0).default(60),
          /** Checkpoint after this many entries of one process. @defaultValue 1000 */
          everyEntries: z.number().int().min(1).default(1000),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Clinical servers a device keeps under restricted containment, by device class or `<site>/<class>`. */
  clinicalServers: z.record(z.string(), z.array(z.string())).default({}),
  /** Approvals a person makes: who is asked, how they sign in, how the request reaches them (docs/approvals.md). */
  approvals: approvalsSchema.prefault({}),
  /** API keys for the approvals API and bearer triggers: identity and roles per key. */
  apiKeys: z
    .array(
      z.strictObject({
        key: secretSchema,
        identity: z.string().min(1),
        roles: z.array(z.string().min(1)).min(1),
      }),
    )
    .default([]),
  triggers: z
    .strictObject({
      /** HMAC routes: how far `X-Medsoc-Timestamp` may be from now, seconds. @defaultValue 300 */
      replayWindowSeconds: z.number().int().min(1).default(300),
      /**
       * Token routes (no signed timestamp): an alert whose own time (Splunk sid dispatch time, Kibana
       * alert `@timestamp`) is older than this is refused; its id is remembered this long. @defaultValue 60
       */
      maxAlertAgeMinutes: z.number().int().min(1).default(60),
      /** One run per trigger, playbook, rule and device within this window, minutes (0 = off). @defaultValue 60 */
      dedupWindowMinutes: z.number().int().min(0).default(60),
      /** Splunk: built-in webhook (secret path token) and/or our alert action (HMAC-SHA256, 5-minute window). */
      splunk: z
        .array(
          z.strictObject({
            ...triggerBase,
            pathToken: secretSchema.optional(),
            hmacSecret: secretSchema.optional(),
          }),
        )
        .default([]),
      /** Kibana Webhook connector: HMAC-SHA256 or a bearer token header. */
      kibana: z
        .array(
          z.strictObject({
            ...triggerBase,
            bearerToken: secretSchema.optional(),
            hmacSecret: secretSchema.optional(),
          }),
        )
        .default([]),
    })
    .prefault({}),
  systems: systemsSchema.prefault({}),
});

export type PlaybooksConfig = z.infer<typeof playbooksConfigSchema>;
export type SystemsConfig = z.infer<typeof systemsSchema>;
