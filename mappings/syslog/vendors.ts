/**
 * Per-vendor CEF profiles (see `base.ts`); each monitor definition (`monitors/<id>/index.ts`) names
 * its own. What each one rests on:
 *
 * - `nozomi` — VERIFIED against Nozomi Networks' N2OS documentation ("Alert events", "Audit
 *   events", "Health events", "Custom fields" in CEF): header `Nozomi Networks|N2OS|<version>|<type
 *   id>|<name>|<severity>`; `cs1` Risk, `cs2` IsSecurity, `cs3` Id (the alert id), `cs4` Detail,
 *   `cs5` Parents (a JSON array), `cs6` n2os_schema, `flexString1` mitre_attack_techniques,
 *   `flexString2` mitre_attack_tactics, `flexString3` name; `src`/`dst`/`smac`/`dmac`/`spt`/`dpt`,
 *   `proto`, `app`, `dvc`, `dvchost`, `msg`, `start` (epoch ms). Event class ids `AUDIT:…` are audit
 *   events, `HEALTH` appliance health; everything else is an alert. ASSUMED: the device the alert is
 *   about is the `dst` side (both documented examples put the target there); `event.risk_score` =
 *   Risk (as the REST mapping does).
 * - `forescout` — PARTLY VERIFIED: the CounterACT CEF plugin's keys as Cortex XSIAM's
 *   ForeScoutCounterACT modeling rule reads them (`cs1` event type, `cs2` original event type, `cs3`
 *   compliance `yes`/`no`, `cs4` sub-type, `dvchost`/`dvc` the appliance, `dst`/`dmac`/`dhost`/
 *   `duser`/`dntdom` the host, `:::::` for no MAC). ASSUMED: the labels are absent or free text, so
 *   unlabelled `cs1`–`cs4` are named by position; a compliance message is a periodic host state
 *   (`event.kind: state`, category `host`).
 * - `claroty_xdome` — ASSUMED: Claroty documents a CEF forwarding (Sentinel's CommonSecurityLog with
 *   DeviceVendor `Claroty` or `Medigate`; Google SecOps added CEF parsing in 2025) but no public key
 *   list was found. Labels are read by name (COMMON_LABELS: `Alert ID`, `Device UID`, `Device Type`,
 *   `Site`, …); the device is the `dst` side; the alert type `Weak/Default Password` is a credential
 *   finding.
 * - `armis` — ASSUMED entirely (no public CEF description found): labels by name, device on `dst`.
 * - `cynerio` — ASSUMED (as `simulators/cynerio/push.ts`): records whose extension carries Cynerio's
 *   own columns (`uid`, `title`, `asset_id`, …) go to the `event` mapping unchanged; other CEF
 *   events get the common mapping with the device on `dst`.
 */
import { parseJson } from "../../core/json.ts";
import type { Classification, SyslogProfile } from "./base.ts";
import type { SyslogView } from "./record.ts";

const ALERT_IDS: Classification = { kind: "alert", category: ["intrusion_detection"], type: ["info"] };

export const NOZOMI_PROFILE: SyslogProfile = {
  deviceSide: "destination",
  labels: { id: "id", risk: "risk" },
  classify(view: SyslogView): Classification {
    const id = view.eventClassId.toUpperCase();
    if (id.startsWith("AUDIT:")) {
      return id.includes("SESSION") || id.includes("LOGIN")
        ? { kind: "event", category: ["authentication"], type: ["info"] }
        : { kind: "event", category: ["configuration"], type: ["info"] };
    }
    if (id === "HEALTH" || id.startsWith("HEALTH:"))
      return { kind: "event", category: ["host"], type: ["info"] };
    return ALERT_IDS;
  },
  isCredentialAlert: (view) => /PASSWORD|CREDENTIAL/i.test(view.eventClassId),
  finish(_doc, _view, vendor) {
    const labels = vendor.labels as Record<string, unknown> | undefined;
    if (labels === undefined) return;
    if (typeof labels.is_security === "string") labels.is_security = labels.is_security.trim() === "true";
    if (typeof labels.parents === "string") {
      try {
        const parents: unknown = parseJson(labels.parents); // exact big integers, depth-checked
        if (Array.isArray(parents)) labels.parents = parents.map(String);
      } catch {
        // kept as sent
      }
    }
  },
};

export const FORESCOUT_PROFILE: SyslogProfile = {
  deviceSide: "destination",
  unlabelled: { cs1: "event_type", cs2: "original_event_type", cs3: "compliant", cs4: "event_sub_type" },
  classify: () => ({ kind: "state", category: ["host"], type: ["info"] }),
  finish(doc, view, vendor) {
    const labels = vendor.labels as Record<string, unknown> | undefined;
    if (labels !== undefined && typeof labels.compliant === "string") {
      const c = labels.compliant.trim().toLowerCase();
      if (c === "yes" || c === "no") labels.compliant = c === "yes";
    }
    const domain = view.ext.dntdom?.trim();
    const host = doc.host as Record<string, unknown> | undefined;
    if (domain && host !== undefined) host.domain = domain;
  },
};

export const XDOME_PROFILE: SyslogProfile = {
  deviceSide: "destination",
  isCredentialAlert: (view) => /weak\/default password/i.test(view.name),
};

export const ARMIS_PROFILE: SyslogProfile = { deviceSide: "destination" };

export const CYNERIO_PROFILE: SyslogProfile = {
  deviceSide: "destination",
  labels: { assetid: "device_id", assettype: "vendor_type" },
  // Cynerio columns in a CEF extension: the event mapping reads those records itself.
  nativeColumns: ["uid", "asset_id", "title"],
};

/** For sources routed by an operator's rule that have no profile of their own. */
export const GENERIC_PROFILE: SyslogProfile = { deviceSide: "destination" };
