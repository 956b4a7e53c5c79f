/**
 * The fleet in Armis's shapes: `in:devices`, `in:alerts` and `in:vulnerabilities` records and
 * vulnerability matches, rendered from the fleet's neutral model ({@link Fleet.draw},
 * {@link Fleet.alertDraw}, {@link Fleet.cves}). The Armis-only detail (data sources, sensor,
 * protections, tags, alert classification and policy, the vulnerability's EPSS and CVSS vector) is
 * derived here from the fleet's per-record hashes, so it is the same for a seed on every run.
 */
import type {
  ArmisAlert,
  ArmisDataSource,
  ArmisDevice,
  ArmisVulnerability,
  ArmisVulnerabilityMatch,
} from "../../connectors/armis/records.ts";
import { ALERT_TEMPLATES, type AlertKind, CVE_INDEX, CVES, type CveSpec } from "../fleet/catalogue.ts";
import type { DeviceDraw, Fleet, Profile } from "../fleet/fleet.ts";
import { hex8, mix32 } from "../fleet/random.ts";
import { DAY_US, isoMicros } from "../fleet/time.ts";

/** How Armis classifies each kind of alert, and the policy that raised it (if one did). */
const ALERT_STYLE: Record<
  AlertKind,
  { type: string; classification: string; policy?: { id: number; title: string; labels: string[] } }
> = {
  port_scan: { type: "System Policy Violation", classification: "Security - Other" },
  c2_communication: { type: "System Policy Violation", classification: "Security - Other" },
  ransomware_risk: { type: "System Policy Violation", classification: "Security - Other" },
  unapproved_server: {
    type: "Policy Violation",
    classification: "Security - Policy",
    policy: {
      id: 612,
      title: "Medical devices talk to approved servers only",
      labels: ["Medical Device Policy", "Segmentation"],
    },
  },
  default_credential_login: {
    type: "Policy Violation",
    classification: "Security - Authentication",
    policy: { id: 345, title: "Default credentials", labels: ["Credential Hygiene"] },
  },
  smbv1: { type: "Anomaly Detection", classification: "Security - Other" },
  exfiltration: { type: "Anomaly Detection", classification: "Security - Exfiltration" },
};

const SENSOR_TYPES = ["Access Switch", "LAN Controller", "Wireless LAN Controller"];

const kv = (key: string, value: unknown) => `${JSON.stringify(key)}:${JSON.stringify(value)}`;

/** Pre-serialised `"key":value` fragments of a profile for {@link ArmisRecords.deviceJson}. */
interface Fragments {
  boundaries: string;
  category: string;
  manufacturer: string;
  os: string;
  purdueLevel: string;
  type: string;
}

const fragmentCache = new WeakMap<Profile, Fragments>();
function fragments(p: Profile): Fragments {
  let f = fragmentCache.get(p);
  if (f === undefined) {
    f = {
      boundaries: kv("boundaries", p.cls.boundaries),
      category: kv("category", p.model.category),
      manufacturer: `${kv("manufacturer", p.model.manufacturer)},${kv("model", p.model.model)}`,
      os: `${kv("operatingSystem", p.os.name)},${kv("operatingSystemVersion", p.os.version)}`,
      purdueLevel: kv("purdueLevel", p.cls.purdueLevel),
      type: `${kv("type", p.model.type)},${kv("typeEnum", p.model.typeEnum)}`,
    };
    fragmentCache.set(p, f);
  }
  return f;
}

const siteJson = new Map<string, string>();
function siteJsonOf(site: { name: string; location: string }): string {
  let s = siteJson.get(site.name);
  if (s === undefined) {
    s = JSON.stringify({ location: site.location, name: site.name });
    siteJson.set(site.name, s);
  }
  return s;
}

/** The Armis-only parts of device `i`, derived from its draw. */
function armisParts(d: DeviceDraw) {
  const { profile: p, h, h2, site, ward } = d;
  const tags: string[] = [];
  if (p.cls.boundaries === "Medical") tags.push("Medical Device");
  if (d.vulnerable && d.cveCount > 1) tags.push("Critical Vulnerabilities");
  if (h2 & 0x100) tags.push("Misconfigurations");
  return {
    lastSeen: isoMicros(d.lastUs),
    firstSeen: isoMicros(d.firstUs),
    wlc: (h & 4) !== 0,
    protected: p.os.name === "Windows" && p.cls.key !== "infusion_pump" && (h & 8) !== 0,
    tags,
    accessSwitch: h & 16 ? `${site.sensor}-${ward}-SW${(h >>> 12) % 8}` : null,
    sensorType: SENSOR_TYPES[(h >>> 16) % 3] as string,
    userId: p.cls.key === "clinical_workstation" || p.model.typeEnum === "LAPTOP" ? 1 + (h % 5000) : 0,
  };
}

function uuid(x: number): string {
  const a = hex8(mix32(x));
  const b = hex8(mix32(x ^ 0x1b873593));
  const c = hex8(mix32(x ^ 0xcc9e2d51));
  const d = hex8(mix32(x ^ 0xe6546b64));
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-a${c.slice(1, 4)}-${c.slice(4)}${d}`;
}

/** A fleet's records in Armis's API shapes. Every accessor is O(1) or O(log PERIOD), like the fleet's. */
export class ArmisRecords {
  readonly fleet: Fleet;
  #vulnerabilities: ArmisVulnerability[] | undefined;

  constructor(fleet: Fleet) {
    this.fleet = fleet;
  }

  /** Armis device id of device index `i`. */
  deviceId(i: number): number {
    return this.fleet.deviceId(i);
  }

  /** Device record `i` in the Armis `in:devices` shape. */
  device(i: number): ArmisDevice {
    const d = this.fleet.draw(i);
    const a = armisParts(d);
    const { profile: p, site } = d;
    const { lastSeen, firstSeen } = a;
    const dataSources: ArmisDataSource[] = [
      {
        firstSeen,
        instances: [],
        lastSeen,
        name: "Traffic Inspection",
        types: ["Traffic Inspection", "Data Analysis"],
      },
    ];
    if (a.wlc) {
      dataSources.push({
        firstSeen,
        instances: [{ firstSeen, lastSeen, name: `${site.sensor} Wireless Controller` }],
        lastSeen,
        name: "Cisco WLC",
        types: ["WLC"],
      });
    }
    return {
      accessSwitch: a.accessSwitch,
      boundaries: p.cls.boundaries,
      businessImpact: d.businessImpact,
      category: p.model.category,
      customProperties: {},
      dataSources,
      displayTitle: d.name,
      firstSeen,
      id: d.id,
      ipAddress: d.ip,
      ipv6: d.ipv6 ? [`::ffff:${d.ip}`] : [],
      lastSeen,
      macAddress: d.mac,
      manufacturer: p.model.manufacturer,
      model: p.model.model,
      name: d.name,
      names: d.name,
      operatingSystem: p.os.name,
      operatingSystemVersion: p.os.version,
      protections: a.protected
        ? [
            {
              creationTime: new Date(Math.floor(d.firstUs / 1000)).toUTCString(),
              deviceId: d.id,
              lastSeenTime: new Date(Math.floor(d.lastUs / 1000)).toUTCString(),
              protectionName: "CrowdStrike Falcon",
            },
          ]
        : [],
      purdueLevel: p.cls.purdueLevel,
      riskLevel: d.risk,
      sensor: { name: `${site.name} ${d.ward}`, type: a.sensorType },
      site: { location: site.location, name: site.name },
      tags: a.tags,
      type: p.model.type,
      typeEnum: p.model.typeEnum,
      userIds: a.userId ? [a.userId] : [],
      visibility: "Full",
    };
  }

  /**
   * `JSON.stringify(device(i))`, built by string concatenation from pre-serialised profile
   * fragments: the simulator serves 1000-device pages several times faster this way. Every
   * variable part is ASCII without quotes or backslashes, so nothing needs escaping.
   */
  deviceJson(i: number): string {
    const d = this.fleet.draw(i);
    const a = armisParts(d);
    const { site } = d;
    const { lastSeen, firstSeen } = a;
    const j = fragments(d.profile);
    const ds =
      `[{"firstSeen":"${firstSeen}","instances":[],"lastSeen":"${lastSeen}","name":"Traffic Inspection","types":["Traffic Inspection","Data Analysis"]}` +
      (a.wlc
        ? `,{"firstSeen":"${firstSeen}","instances":[{"firstSeen":"${firstSeen}","lastSeen":"${lastSeen}","name":"${site.sensor} Wireless Controller"}],"lastSeen":"${lastSeen}","name":"Cisco WLC","types":["WLC"]}]`
        : "]");
    const protections = a.protected
      ? `[{"creationTime":"${new Date(Math.floor(d.firstUs / 1000)).toUTCString()}","deviceId":${d.id},"lastSeenTime":"${new Date(Math.floor(d.lastUs / 1000)).toUTCString()}","protectionName":"CrowdStrike Falcon"}]`
      : "[]";
    let tags = "[";
    for (let t = 0; t < a.tags.length; t++) tags += `${t ? "," : ""}"${a.tags[t]}"`;
    tags += "]";
    return (
      `{"accessSwitch":${a.accessSwitch === null ? "null" : `"${a.accessSwitch}"`},${j.boundaries},"businessImpact":"${d.businessImpact}",${j.category},"customProperties":{},"dataSources":${ds},` +
      `"displayTitle":"${d.name}","firstSeen":"${firstSeen}","id":${d.id},"ipAddress":"${d.ip}","ipv6":${d.ipv6 ? `["::ffff:${d.ip}"]` : "[]"},"lastSeen":"${lastSeen}","macAddress":"${d.mac}",` +
      `${j.manufacturer},"name":"${d.name}","names":"${d.name}",${j.os},"protections":${protections},${j.purdueLevel},"riskLevel":${d.risk},` +
      `"sensor":{"name":${JSON.stringify(`${site.name} ${d.ward}`)},"type":"${a.sensorType}"},"site":${siteJsonOf(site)},"tags":${tags},${j.type},"userIds":${a.userId ? `[${a.userId}]` : "[]"},"visibility":"Full"}`
    );
  }

  /** Alert record `k` in the Armis `in:alerts` shape (type drift included). */
  alert(k: number): ArmisAlert {
    const { device, h, template } = this.fleet.alertDraw(k);
    const t = ALERT_TEMPLATES[template] as (typeof ALERT_TEMPLATES)[number];
    const style = ALERT_STYLE[t.kind];
    const time = isoMicros(this.fleet.lastSeenUs(device));
    const deviceIds = [device + 1];
    // A login is one device's; other alerts may name a second one (the previous device).
    if (h & 1 && device > 0 && t.kind !== "default_credential_login") deviceIds.push(device);
    // Type drift as seen in the reference data: labels are an array, a string or null.
    let policyLabels: ArmisAlert["policyLabels"] = null;
    if (style.policy) policyLabels = h & 2 ? style.policy.labels : style.policy.labels.join(", ");
    return {
      activityUUIDs: [uuid(h), ...(h & 4 ? [uuid(h ^ 0x9e3779b9)] : [])],
      affectedDevicesCount: deviceIds.length,
      alertId: k + 1,
      classification: style.classification,
      connectionIds: h & 8 ? [`conn-${h % 100_000}`] : [],
      description: t.description,
      destinationEndpoints: h & 8 ? [`10.250.${(h >>> 8) & 255}.${(h >>> 16) & 255}`] : [],
      deviceIds,
      lastAlertUpdateTime: h & 16 ? time : null,
      mitreAttackLabels: t.mitre && h & 32 ? t.mitre : null,
      policyId: style.policy?.id ?? null,
      policyLabels,
      policyTitle: style.policy?.title ?? null,
      severity: t.severity,
      sourceEndpoints: h & 8 ? [`10.${(device >>> 16) & 255}.${(device >>> 8) & 255}.${device & 255}`] : [],
      status: h % 10 === 0 ? "Resolved" : "Unhandled",
      statusChangeTime: time,
      time,
      title: t.title,
      type: style.type,
    };
  }

  /** Vulnerabilities with at least one matched device, ordered by `lastDetected` then id. */
  vulnerabilities(): readonly ArmisVulnerability[] {
    if (this.#vulnerabilities) return this.#vulnerabilities;
    const seed = this.fleet.seed;
    this.#vulnerabilities = this.fleet.cves().map((cve): ArmisVulnerability => {
      const h = mix32(cve.index ^ 0x3c6ef372 ^ seed);
      const us = cve.lastDetectedUs;
      return {
        affectedDevicesCount: cve.devices,
        attackComplexity: h & 1 ? "Low" : "High",
        attackVector: cve.type === "Firmware" && h & 2 ? "Adjacent Network" : "Network",
        availabilityImpact: "High",
        avmRating: null,
        avmRatingManualChangeReason: null,
        avmRatingManualChangedBy: "",
        avmRatingManualUpdateTime: null,
        botnets: null,
        cisaDueDate: cve.kevDue ? `${cve.kevDue}T00:00:00+00:00` : null,
        commonName: null,
        confidentialityImpact: "High",
        cveUid: cve.id,
        cvssScore: cve.score,
        cvssScoreV4: null,
        description: cve.description,
        epssPercentile: cve.epssPercentile,
        epssScore: cve.epssScore,
        exploitabilityScore: cve.exploitabilityScore,
        firstDetected: isoMicros(us - 30 * DAY_US),
        firstReferencePublishDate: null,
        firstWeaponizedReferencePublishDate: null,
        hasRansomware: cve.ransomware,
        hasRemediationInfo: cve.advisory ? "Yes" : "No",
        id: cve.id,
        impactScore: 5.9,
        integrityImpact: "High",
        isWeaponized: cve.kevDue ? true : null,
        lastDetected: isoMicros(us),
        latestExploitUpdate: null,
        numOfExploits: cve.kevDue ? 3 : 0,
        numberOfThreatActors: cve.ransomware ? 2 : 0,
        privilegesRequired: "None",
        publishedDate: `${cve.published}T00:00:00+00:00`,
        reportedByGoogleZeroDays: null,
        scope: "Unchanged",
        score: cve.score,
        severity: cve.severity,
        status: "Open",
        threatActors: null,
        threatTags: null,
        type: cve.type,
        userInteraction: "None",
      };
    });
    return this.#vulnerabilities;
  }

  /** Number of devices matched by `cveUid` (0 for an unknown CVE). */
  matchCount(cveUid: string): number {
    return this.fleet.matchCount(cveUid);
  }

  /** The k-th device match of `cveUid`, in device order. */
  match(cveUid: string, k: number): ArmisVulnerabilityMatch {
    const device = this.fleet.matchDevice(cveUid, k);
    const c = CVE_INDEX.get(cveUid) as number;
    const spec = CVES[c] as CveSpec;
    const last = this.fleet.lastSeenUs(device);
    const h = mix32(Math.imul(device, 0x9e3779b1) ^ c);
    return {
      advisoryId: spec.advisory ?? null,
      avmRating: null,
      confidenceLevel: h & 3 ? "High" : "Medium",
      confidenceLevelDescription: null,
      cveUid: spec.id,
      deviceId: device + 1,
      firstDetected: isoMicros(last - (1 + (h % 200)) * DAY_US),
      hasRemediationInfo: spec.advisory ? "Yes" : "No",
      lastDetected: isoMicros(last),
      matchCriteriaString: spec.type === "OS" ? "OS" : "Model",
      recommendedSteps: null,
      remediationTypes: null,
      status: "Open",
      statusChangeReason: null,
      statusSource: "Discovered by Armis",
    };
  }
}

/** The Armis view of `fleet`. */
export function armisRecords(fleet: Fleet): ArmisRecords {
  return new ArmisRecords(fleet);
}
