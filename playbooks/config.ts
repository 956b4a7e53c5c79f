/**
 * The `playbooks:` section of medsoc.yaml: where playbooks and rules live, the guards, the audit
 * file, approvers (API keys with identity and roles), SIEM triggers, and the outside systems the
 * response actions call. Every secret is a `Secret`.
 */
import { z } from "zod";
import { secretSchema } from "../core/config-fields.ts";

const url = z.string().url();

export const systemsSchema = z.strictObject({
  /** Cisco ISE ERS (ANC containment). */
  ise: z
    .strictObject({
      baseUrl: url,
      username: z.string().min(1),
      password: secretSchema,
      /** @defaultValue {full: "IOMT_QUARANTINE", restricted: "IOMT_RESTRICTED"} */
      policies: z
        .strictObject({
          full: z.string().default("IOMT_QUARANTINE"),
          restricted: z.string().default("IOMT_RESTRICTED"),
        })
        .prefault({}),
    })
    .optional(),
  /** PAN-OS firewall or Panorama (User-ID tags). */
  panos: z
    .strictObject({
      baseUrl: url,
      username: z.string().min(1),
      password: secretSchema,
      vsys: z.string().optional(),
      /** @defaultValue {full: "iomt-quarantine", restricted: "iomt-restricted"} */
      tags: z
        .strictObject({
          full: z.string().default("iomt-quarantine"),
          restricted: z.string().default("iomt-restricted"),
        })
        .prefault({}),
      /** @defaultValue "iomt-clinical-servers" */
      clinicalServerTag: z.string().default("iomt-clinical-servers"),
      /** Tag lifetime, seconds (safety net; 0 = none). @defaultValue 86400 */
      timeoutSeconds: z.number().int().min(0).max(2_592_000).default(86_400),
    })
    .optional(),
  /** HashiCorp Vault KV v2 (credential escrow). Either `token` or `appRole`. */
  vault: z
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
    .refine((v) => v.token || v.appRole, { message: "set token or appRole" })
    .optional(),
  /** Where device passwords are changed: a management server (`http`) or a ticket for a person (`manual`). */
  deviceCredentials: z
    .discriminatedUnion("type", [
      z.strictObject({ type: z.literal("http"), baseUrl: url, token: secretSchema }),
      z.strictObject({ type: z.literal("manual") }),
    ])
    .optional(),
  servicenow: z
    .strictObject({
      baseUrl: url,
      username: z.string().min(1),
      password: secretSchema,
      /** @defaultValue "Clinical Engineering" */
      assignmentGroup: z.string().default("Clinical Engineering"),
      /** @defaultValue "medsoc" */
      correlationPrefix: z.string().default("medsoc"),
    })
    .optional(),
  pagerduty: z
    .strictObject({
      /** @defaultValue "https://events.pagerduty.com/v2/enqueue" */
      url: url.default("https://events.pagerduty.com/v2/enqueue"),
      routingKey: secretSchema,
    })
    .optional(),
  slack: z.strictObject({ webhookUrl: secretSchema }).optional(),
  teams: z.strictObject({ webhookUrl: secretSchema }).optional(),
  /** Aruba ClearPass (endpoint attributes + CoA). */
  clearpass: z
    .strictObject({
      baseUrl: url,
      clientId: z.string().min(1),
      clientSecret: secretSchema,
      /** @defaultValue "IoMT-Quarantine" */
      attribute: z.string().min(1).default("IoMT-Quarantine"),
      /** @defaultValue {full: "IoMT Quarantine VLAN", restricted: "IoMT Restricted Access"} */
      enforcementProfiles: z
        .strictObject({
          full: z.string().default("IoMT Quarantine VLAN"),
          restricted: z.string().default("IoMT Restricted Access"),
        })
        .prefault({}),
    })
    .optional(),
  /** FortiGate (ban list for full, address group for restricted). */
  fortigate: z
    .strictObject({
      baseUrl: url,
      token: secretSchema,
      /** @defaultValue "root" */
      vdom: z.string().min(1).default("root"),
      /** Ban lifetime, seconds (safety net; 0 = until cleared). @defaultValue 86400 */
      banExpirySeconds: z.number().int().min(0).default(86_400),
      /** @defaultValue "IoMT-Restricted" */
      restrictedGroup: z.string().min(1).default("IoMT-Restricted"),
      /** @defaultValue "IoMT-Clinical-Servers" */
      clinicalServerGroup: z.string().min(1).default("IoMT-Clinical-Servers"),
      /** @defaultValue "medsoc-" */
      addressPrefix: z.string().default("medsoc-"),
    })
    .optional(),
  /** Armis device tags (the containment marker Armis-driven policies act on). */
  armis: z
    .strictObject({
      baseUrl: url,
      secretKey: secretSchema,
      /** @defaultValue {full: "medsoc-quarantine", restricted: "medsoc-restricted"} */
      tags: z
        .strictObject({
          full: z.string().default("medsoc-quarantine"),
          restricted: z.string().default("medsoc-restricted"),
        })
        .prefault({}),
    })
    .optional(),
  /** Claroty xDome custom attribute (containment marker). */
  xdome: z
    .strictObject({
      /** @defaultValue "https://api.claroty.com" */
      baseUrl: url.default("https://api.claroty.com"),
      token: secretSchema,
      /** @defaultValue "medsoc_containment" */
      attribute: z.string().min(1).default("medsoc_containment"),
      /** Device field returning the attribute in `devices/`. @defaultValue the attribute */
      readField: z.string().min(1).optional(),
      /** @defaultValue {full: "quarantine", restricted: "restricted"} */
      values: z
        .strictObject({
          full: z.string().default("quarantine"),
          restricted: z.string().default("restricted"),
        })
        .prefault({}),
    })
    .optional(),
  /** Forescout DEX host property (eyeControl policy) + Web API read-back. */
  forescout: z
    .strictObject({
      baseUrl: url,
      dexUsername: z.string().min(1),
      dexPassword: secretSchema,
      webUsername: z.string().min(1),
      webPassword: secretSchema,
      /** @defaultValue "iomt_quarantine" */
      property: z.string().min(1).default("iomt_quarantine"),
      /** @defaultValue {full: "full", restricted: "restricted"} */
      values: z
        .strictObject({ full: z.string().default("full"), restricted: z.string().default("restricted") })
        .prefault({}),
    })
    .optional(),
  /** CyberArk PVWA (CPM-driven password change and verify). */
  cyberark: z
    .strictObject({
      baseUrl: url,
      /** @defaultValue "CyberArk" */
      authType: z.enum(["CyberArk", "LDAP", "RADIUS", "Windows"]).default("CyberArk"),
      username: z.string().min(1),
      password: secretSchema,
      safe: z.string().min(1).optional(),
      /** @defaultValue 2000 */
      pollIntervalMs: z.number().int().min(10).default(2000),
      /** @defaultValue 25000 */
      pollTimeoutMs: z.number().int().min(100).default(25_000),
    })
    .optional(),
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
  approvals: z
    .strictObject({
      /** Public base URL of this API, for signed links. @defaultValue "http://127.0.0.1:8787" */
      publicUrl: url.default("http://127.0.0.1:8787"),
      /** HMAC key of the approve/deny links. */
      linkSecret: secretSchema.optional(),
      /** Link lifetime, minutes. @defaultValue 60 */
      linkTtlMinutes: z.number().int().min(1).default(60),
      /** Approvers to send links to: identity + role. */
      approvers: z
        .array(z.strictObject({ identity: z.string().min(1), role: z.string().min(1) }))
        .default([]),
    })
    .prefault({}),
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
