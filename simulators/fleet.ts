/**
 * Deterministic simulated hospital fleet. Device `i` is a pure function of `(seed, i)`, so any page
 * of a 5-million-device fleet is computed directly and nothing is held in memory but a fixed
 * 10,000-slot profile table.
 *
 * Proportions follow Cynerio's *2022 State of IoT Device Security in Healthcare* (DESIGN.md):
 * infusion pumps are 38% of the fleet and 73% of them are vulnerable, 53% of all devices have at
 * least one known vulnerability, and old Windows (XP, 7, CE, Embedded, Server 2008/2012) runs a
 * large share of imaging, laboratory, pharmacy and clinical workstations.
 *
 * How it stays streamable: device `i` uses profile slot `i % PERIOD` of a seeded, shuffled table in
 * which every class, model, OS, vulnerability and alert has its exact share. The k-th device matched
 * by a CVE and the k-th alert are then found by arithmetic on the sorted slot lists, and `lastSeen`
 * grows with `i` (groups of {@link TIE_GROUP} devices share the exact same microsecond) so
 * `after:` filters become binary searches.
 *
 * CVE ids are real (most from the ICS medical advisories in `../shared/reference/data/advisories/`);
 * scores are their CVSS v3 base scores where the advisory gives one, descriptions are short
 * paraphrases. Manufacturers and models are real products; MAC prefixes, names and addresses are
 * synthetic.
 */
import type {
  ArmisAlert,
  ArmisDataSource,
  ArmisDevice,
  ArmisVulnerability,
  ArmisVulnerabilityMatch,
} from "../connectors/armis/records.ts";

/** Number of profile slots; every share is exact over any `PERIOD` consecutive devices. */
export const PERIOD = 10_000;
/** Devices that share one exact `lastSeen` (cursor tie-breaks). */
export const TIE_GROUP = 3;
/** Microseconds between two tie groups: about 12 devices per second, never on a whole second. */
export const STEP_US = 250_013;
/** @defaultValue of {@link FleetOptions.startMs}: 2025-03-29T00:00:00Z, the date of the reference samples. */
export const DEFAULT_START_MS = Date.UTC(2025, 2, 29);

export type DeviceClass =
  | "infusion_pump"
  | "patient_monitor"
  | "imaging"
  | "lab_analyzer"
  | "nurse_call"
  | "medication_dispensing"
  | "clinical_workstation"
  | "building_iot"
  | "it";

export interface FleetOptions {
  /** Number of devices (5 to 5,000,000 are exercised). */
  size: number;
  /** Seed of every random choice. @defaultValue 1 */
  seed?: number;
  /** `lastSeen` of device 0, epoch milliseconds. Device `i` is seen later. @defaultValue {@link DEFAULT_START_MS} */
  startMs?: number;
}

/** The profile a device was drawn from (what the tests check proportions on). */
export interface DeviceProfile {
  deviceClass: DeviceClass;
  manufacturer: string;
  model: string;
  operatingSystem: string;
  operatingSystemVersion: string;
  /** True for Windows older than 10 (XP, 7, CE, Embedded, Server 2008/2012). */
  oldWindows: boolean;
  vulnerable: boolean;
  cves: readonly string[];
  alerts: number;
}

/** Share of devices whose risk is critical (the report: 33%). */
export const CRITICAL_SHARE = 0.33;

/**
 * How a device's login credential is set. `default`: the vendor's factory password, the same on
 * every device of that model that still has it; `shared`: one password the hospital set on many
 * devices; `hard_coded`: fixed in firmware, cannot be rotated; `unique`: per-device.
 */
export type CredentialKind = "default" | "shared" | "unique" | "hard_coded";

export interface CredentialFacts {
  kind: CredentialKind;
  /** Login name on the device or its management server. */
  username: string;
  /**
   * Stable fingerprint of the password (never the password): equal fingerprints mean the same
   * password. Devices sharing a default or organisation password share it.
   */
  fingerprint: string;
}

/** The vendor-neutral facts about one device; see {@link Fleet.facts}. */
export interface DeviceFacts {
  index: number;
  /** Armis-style integer id (index + 1). */
  id: number;
  /** Stable UUID (xDome `uid`, Nozomi `id`, …). */
  uid: string;
  /** Upper-case, colon-separated. */
  mac: string;
  ip: string;
  ipv6: string | null;
  name: string;
  serial: string;
  deviceClass: DeviceClass;
  manufacturer: string;
  model: string;
  /** Human type label ("Infusion Pumps"). */
  vendorType: string;
  /** Upper-snake type ("INFUSION_PUMP"). */
  typeEnum: string;
  /** "Medical", "Computers", "Network Equipment", … */
  category: string;
  operatingSystem: string;
  operatingSystemVersion: string;
  /**
   * Firmware or software version the device runs, consistent with {@link vulnerable}: for models
   * whose advisories in `reference/data/advisories/csaf/` give version ranges, a vulnerable device
   * runs a version inside an affected range and a not-vulnerable one a fixed version outside every
   * range (see `FIRMWARE`); other models run their OS line's version.
   */
  firmwareVersion: string;
  oldWindows: boolean;
  site: { name: string; location: string };
  ward: string;
  firstSeenUs: number;
  lastSeenUs: number;
  vulnerable: boolean;
  /** Ground truth of "carries a critical risk" (33% of devices). */
  criticalRisk: boolean;
  cves: string[];
  /** Monitor risk score 0–100; 90 and above exactly when {@link criticalRisk}. */
  risk: number;
  businessImpact: string;
  purdueLevel: number;
  /** FDA device class 1–3; null for non-medical devices. */
  fdaClass: 1 | 2 | 3 | null;
  /** Handles protected health information. */
  phi: boolean;
  /** xDome-style equipment class ("Infusion Device", …); null for non-medical devices. */
  equipmentClass: string | null;
  /** Joint Commission consequence of failure: "Life Support", "High", "Medium", "Low". */
  consequenceOfFailure: "Life Support" | "High" | "Medium" | "Low";
  /** Percent, for battery-powered devices (pumps, monitors); null otherwise. */
  batteryLevel: number | null;
  /** A pump infusing or a monitor attached to a patient right now. */
  inUse: boolean;
  /** 0–1 for clinical devices; null otherwise. */
  utilizationRate: number | null;
  credential: CredentialFacts;
  /** Clinical servers the device must keep reaching under restricted containment. */
  clinicalServers: string[];
}

/** What an alert is about, in words every monitor simulator can render. */
export type AlertKind =
  | "port_scan"
  | "c2_communication"
  | "ransomware_risk"
  | "unapproved_server"
  | "default_credential_login"
  | "smbv1"
  | "exfiltration";

/** The vendor-neutral facts about one alert; see {@link Fleet.alertFacts}. */
export interface AlertFacts {
  index: number;
  /** Device index the alert is about. */
  device: number;
  timeUs: number;
  kind: AlertKind;
  title: string;
  description: string;
  severity: "Low" | "Medium" | "High" | "Critical";
  mitre: string | null;
  resolved: boolean;
}

// ---------------------------------------------------------------------------------------------
// Catalogue

interface OsSpec {
  name: string;
  version: string;
  weight: number;
  oldWindows?: boolean;
  cves?: string[];
}

interface ModelSpec {
  manufacturer: string;
  model: string;
  type: string;
  typeEnum: string;
  category: string;
  prefix: string;
  weight: number;
  os: OsSpec[];
  cves: string[];
}

interface ClassSpec {
  key: DeviceClass;
  share: number;
  vulnerable: number;
  purdueLevel: number;
  businessImpact: string[];
  boundaries: string;
  riskBase: number;
  models: ModelSpec[];
}

const WIN_SMB = ["CVE-2017-0144", "CVE-2017-0143"];
const WIN_RDP = ["CVE-2019-0708"];
const WIN7: OsSpec = {
  name: "Windows",
  version: "7",
  weight: 1,
  oldWindows: true,
  cves: [...WIN_SMB, ...WIN_RDP],
};
const WINXP: OsSpec = {
  name: "Windows",
  version: "XP",
  weight: 1,
  oldWindows: true,
  cves: [...WIN_SMB, ...WIN_RDP],
};
const WIN10: OsSpec = { name: "Windows", version: "10", weight: 1, cves: ["CVE-2017-0144"] };
const WIN_EMB: OsSpec = {
  name: "Windows",
  version: "Embedded Standard 7",
  weight: 1,
  oldWindows: true,
  cves: [...WIN_SMB, ...WIN_RDP],
};
const LINUX = (version: string, weight = 1): OsSpec => ({ name: "Linux", version, weight });
const w = (os: OsSpec, weight: number): OsSpec => ({ ...os, weight });

const med = (
  manufacturer: string,
  model: string,
  type: string,
  typeEnum: string,
  prefix: string,
  weight: number,
  os: OsSpec[],
  cves: string[],
  category = "Medical",
): ModelSpec => ({ manufacturer, model, type, typeEnum, category, prefix, weight, os, cves });

const CLASSES: ClassSpec[] = [
  {
    key: "infusion_pump",
    share: 0.38,
    vulnerable: 0.73,
    purdueLevel: 1,
    businessImpact: ["Critical", "Critical", "High"],
    boundaries: "Medical",
    riskBase: 60,
    models: [
      med(
        "BD",
        "Alaris 8015 PC Unit",
        "Infusion Pumps",
        "INFUSION_PUMP",
        "ALARIS-PCU",
        0.26,
        [{ name: "Windows", version: "CE 5.0", weight: 1, oldWindows: true }],
        [
          "CVE-2016-8375",
          "CVE-2016-9355",
          "CVE-2023-30559",
          "CVE-2023-30560",
          "CVE-2023-30561",
          "CVE-2023-30563",
        ],
      ),
      med(
        "BD",
        "Alaris 8100 LVP Module",
        "Infusion Pumps",
        "INFUSION_PUMP",
        "ALARIS-LVP",
        0.14,
        [{ name: "Embedded", version: "9.33", weight: 1 }],
        ["CVE-2016-8375", "CVE-2023-30562", "CVE-2023-30564", "CVE-2023-30565"],
      ),
      med(
        "Baxter",
        "Sigma Spectrum 35700",
        "Infusion Pumps",
        "INFUSION_PUMP",
        "SIGMA-SPECTRUM",
        0.18,
        [{ name: "Embedded", version: "8.00.01", weight: 1 }],
        [
          "CVE-2020-12039",
          "CVE-2020-12040",
          "CVE-2020-12045",
          "CVE-2022-26390",
          "CVE-2022-26392",
          "CVE-2022-26394",
        ],
      ),
      med(
        "B. Braun",
        "Infusomat Space",
        "Infusion Pumps",
        "INFUSION_PUMP",
        "INFUSOMAT",
        0.17,
        [LINUX("2.6.38")],
        ["CVE-2021-33882", "CVE-2021-33883", "CVE-2021-33885", "CVE-2020-25150", "CVE-2020-25162"],
      ),
      med(
        "Fresenius Kabi",
        "Agilia VP",
        "Infusion Pumps",
        "INFUSION_PUMP",
        "AGILIA-VP",
        0.15,
        [{ name: "Embedded", version: "3.3", weight: 1 }],
        ["CVE-2021-23236", "CVE-2021-31562", "CVE-2021-41835", "CVE-2021-23196", "CVE-2021-23233"],
      ),
      med(
        "Smiths Medical",
        "Medfusion 4000",
        "Infusion Pumps",
        "INFUSION_PUMP",
        "MEDFUSION",
        0.1,
        [{ name: "Embedded", version: "1.6.1", weight: 1 }],
        ["CVE-2017-12718", "CVE-2017-12720", "CVE-2017-12724", "CVE-2017-12725", "CVE-2017-12726"],
      ),
    ],
  },
  {
    key: "patient_monitor",
    share: 0.12,
    vulnerable: 0.45,
    purdueLevel: 1,
    businessImpact: ["Critical", "High"],
    boundaries: "Medical",
    riskBase: 50,
    models: [
      med(
        "GE Healthcare",
        "CARESCAPE B450",
        "Patient Monitors",
        "PATIENT_MONITOR",
        "CARESCAPE-B450",
        0.3,
        [{ name: "VxWorks", version: "6.5", weight: 1 }],
        ["CVE-2020-6961", "CVE-2020-6962", "CVE-2020-6963", "CVE-2020-6966", "CVE-2019-12256"],
      ),
      med(
        "GE Healthcare",
        "CARESCAPE B650",
        "Patient Monitors",
        "PATIENT_MONITOR",
        "CARESCAPE-B650",
        0.2,
        [{ name: "VxWorks", version: "6.5", weight: 1 }],
        ["CVE-2020-6961", "CVE-2020-6964", "CVE-2020-6965", "CVE-2019-12256"],
      ),
      med(
        "Philips",
        "IntelliVue MX450",
        "Patient Monitors",
        "PATIENT_MONITOR",
        "INTELLIVUE-MX450",
        0.3,
        [{ name: "Embedded", version: "M.00.03", weight: 1 }],
        ["CVE-2020-16212", "CVE-2020-16216", "CVE-2020-16218"],
      ),
      med(
        "Philips",
        "IntelliVue MX800",
        "Patient Monitors",
        "PATIENT_MONITOR",
        "INTELLIVUE-MX800",
        0.2,
        [w(WIN_EMB, 0.5), { name: "Embedded", version: "M.00.03", weight: 0.5 }],
        ["CVE-2020-16212", "CVE-2020-16228"],
      ),
    ],
  },
  {
    key: "imaging",
    share: 0.05,
    vulnerable: 0.55,
    purdueLevel: 2,
    businessImpact: ["High", "Medium"],
    boundaries: "Medical",
    riskBase: 55,
    models: [
      med(
        "Siemens Healthineers",
        "SOMATOM go.Up",
        "CT Scanners",
        "CT_SCANNER",
        "CT",
        0.25,
        [WIN7],
        [],
        "Imaging",
      ),
      med(
        "GE Healthcare",
        "Revolution CT",
        "CT Scanners",
        "CT_SCANNER",
        "CT",
        0.15,
        [LINUX("3.10")],
        ["CVE-2021-44228"],
        "Imaging",
      ),
      med(
        "Philips",
        "Ingenia 1.5T",
        "MRI Machines",
        "MRI",
        "MRI",
        0.2,
        [w(WIN7, 0.7), w(WIN10, 0.3)],
        [],
        "Imaging",
      ),
      med(
        "Carestream",
        "DRX-Revolution",
        "X-Ray Machines",
        "X_RAY",
        "XRAY",
        0.2,
        [w(WINXP, 0.6), w(WIN7, 0.4)],
        [],
        "Imaging",
      ),
      med(
        "Canon Medical",
        "Aplio i800",
        "Ultrasound Machines",
        "ULTRASOUND",
        "US",
        0.2,
        [WIN_EMB],
        [],
        "Imaging",
      ),
    ],
  },
  {
    key: "lab_analyzer",
    share: 0.04,
    vulnerable: 0.5,
    purdueLevel: 2,
    businessImpact: ["Medium", "High"],
    boundaries: "Medical",
    riskBase: 45,
    models: [
      med(
        "Roche",
        "cobas 6000",
        "Lab Equipment",
        "LAB_EQUIPMENT",
        "COBAS",
        0.3,
        [w(WINXP, 0.5), w(WIN7, 0.5)],
        [],
      ),
      med("Abbott", "Alinity ci", "Lab Equipment", "LAB_EQUIPMENT", "ALINITY", 0.25, [WIN10], []),
      med("BD", "Kiestra ReadA", "Lab Equipment", "LAB_EQUIPMENT", "KIESTRA", 0.2, [WIN7], ["CVE-2017-6022"]),
      med(
        "Sysmex",
        "XN-1000",
        "Lab Equipment",
        "LAB_EQUIPMENT",
        "SYSMEX-XN",
        0.25,
        [w(WIN7, 0.6), w(WIN10, 0.4)],
        [],
      ),
    ],
  },
  {
    key: "nurse_call",
    share: 0.05,
    vulnerable: 0.35,
    purdueLevel: 2,
    businessImpact: ["High", "Medium"],
    boundaries: "Medical",
    riskBase: 35,
    models: [
      med(
        "Rauland",
        "Responder 5",
        "Nurse Call Systems",
        "NURSE_CALL",
        "R5",
        0.4,
        [LINUX("4.9")],
        ["CVE-2020-11896", "CVE-2020-11897"],
      ),
      med(
        "Ascom",
        "Telligence",
        "Nurse Call Systems",
        "NURSE_CALL",
        "TELLIGENCE",
        0.3,
        [LINUX("4.4")],
        ["CVE-2020-11896"],
      ),
      med(
        "Hillrom",
        "NaviCare Nurse Call",
        "Nurse Call Systems",
        "NURSE_CALL",
        "NAVICARE",
        0.3,
        [WIN10],
        ["CVE-2020-11897"],
      ),
    ],
  },
  {
    key: "medication_dispensing",
    share: 0.03,
    vulnerable: 0.5,
    purdueLevel: 2,
    businessImpact: ["High"],
    boundaries: "Medical",
    riskBase: 50,
    models: [
      med(
        "BD",
        "Pyxis MedStation ES",
        "Medication Dispensing",
        "MEDICATION_DISPENSING",
        "PYXIS",
        0.6,
        [w(WIN_EMB, 0.7), w(WIN10, 0.3)],
        ["CVE-2022-22767"],
      ),
      med(
        "Omnicell",
        "XT Automated Dispensing Cabinet",
        "Medication Dispensing",
        "MEDICATION_DISPENSING",
        "OMNICELL-XT",
        0.4,
        [w(WIN7, 0.5), w(WIN10, 0.5)],
        [],
      ),
    ],
  },
  {
    key: "clinical_workstation",
    share: 0.1,
    vulnerable: 0.45,
    purdueLevel: 3,
    businessImpact: ["Medium", "High"],
    boundaries: "Corporate",
    riskBase: 40,
    models: [
      med(
        "Dell",
        "OptiPlex 7070",
        "Personal Computers",
        "PERSONAL_COMPUTER",
        "WS",
        0.45,
        [w(WIN10, 0.65), w(WIN7, 0.35)],
        [],
        "Computers",
      ),
      med(
        "HP",
        "EliteDesk 800 G5",
        "Personal Computers",
        "PERSONAL_COMPUTER",
        "WS",
        0.3,
        [w(WIN10, 0.7), w(WIN7, 0.3)],
        [],
        "Computers",
      ),
      med(
        "Capsa Healthcare",
        "CareLink M38e",
        "Medical Carts",
        "MEDICAL_CART",
        "COW",
        0.25,
        [w(WIN10, 0.6), w(WIN_EMB, 0.4)],
        [],
        "Computers",
      ),
    ],
  },
  {
    key: "building_iot",
    share: 0.1,
    vulnerable: 0.35,
    purdueLevel: 2,
    businessImpact: ["Low", "Medium", "Unassigned"],
    boundaries: "Corporate",
    riskBase: 30,
    models: [
      med(
        "Axis",
        "P3245-V",
        "IP Cameras",
        "IP_CAMERA",
        "CAM",
        0.35,
        [LINUX("4.14")],
        ["CVE-2018-10660"],
        "Imaging",
      ),
      med(
        "Hikvision",
        "DS-2CD2143G0-I",
        "IP Cameras",
        "IP_CAMERA",
        "CAM",
        0.2,
        [LINUX("3.0.8")],
        ["CVE-2021-36260"],
        "Imaging",
      ),
      med(
        "Johnson Controls",
        "Metasys NAE55",
        "HVAC",
        "HVAC",
        "NAE",
        0.25,
        [w(WIN_EMB, 0.5), LINUX("2.6", 0.5)],
        ["CVE-2020-11896"],
        "Building Management",
      ),
      med(
        "HID Global",
        "VertX EVO V1000",
        "Access Control",
        "ACCESS_CONTROL",
        "BADGE",
        0.2,
        [LINUX("2.6")],
        ["CVE-2020-11896"],
        "Building Management",
      ),
    ],
  },
  {
    key: "it",
    share: 0.13,
    vulnerable: 0.35,
    purdueLevel: 4,
    businessImpact: ["Medium", "Low", "Unassigned"],
    boundaries: "Corporate",
    riskBase: 30,
    models: [
      med(
        "Cisco",
        "Catalyst 9300",
        "Switches",
        "SWITCH",
        "SW",
        0.15,
        [{ name: "IOS XE", version: "17.9", weight: 1 }],
        ["CVE-2023-20198"],
        "Network Equipment",
      ),
      med(
        "HP",
        "LaserJet Enterprise M507",
        "Printers",
        "PRINTER",
        "PRN",
        0.25,
        [{ name: "FutureSmart", version: "4.11", weight: 1 }],
        ["CVE-2021-39238"],
        "Printers",
      ),
      med(
        "Cisco",
        "IP Phone 8865",
        "VoIP Phones",
        "VOIP",
        "SEP",
        0.25,
        [LINUX("3.18")],
        ["CVE-2020-3161"],
        "VoIP",
      ),
      med(
        "Dell",
        "PowerEdge R740",
        "Servers",
        "SERVER",
        "SRV",
        0.15,
        [
          { name: "Windows", version: "Server 2016 Standard", weight: 0.5, cves: ["CVE-2020-1472"] },
          {
            name: "Windows",
            version: "Server 2012 R2",
            weight: 0.3,
            oldWindows: true,
            cves: ["CVE-2020-1472", ...WIN_RDP],
          },
          LINUX("5.4", 0.2),
        ],
        ["CVE-2021-44228"],
        "Computers",
      ),
      med(
        "Lenovo",
        "ThinkPad T14",
        "Laptops",
        "LAPTOP",
        "LT",
        0.2,
        [w(WIN10, 0.8), { name: "Windows", version: "11", weight: 0.2, cves: [] }],
        ["CVE-2021-44228"],
        "Computers",
      ),
    ],
  },
];

interface CveSpec {
  id: string;
  score: number;
  published: string;
  description: string;
  type: "OS" | "Application" | "Firmware";
  advisory?: string;
  kevDue?: string;
  ransomware?: boolean;
}

const cve = (
  id: string,
  score: number,
  published: string,
  description: string,
  type: CveSpec["type"] = "Firmware",
  extra: Partial<CveSpec> = {},
): CveSpec => ({ id, score, published, description, type, ...extra });

const CVES: CveSpec[] = [
  cve(
    "CVE-2016-8375",
    4.9,
    "2017-01-17",
    "Alaris 8015 PC Unit stores wireless credentials without sufficient protection.",
    "Firmware",
    { advisory: "ICSMA-17-017-02" },
  ),
  cve(
    "CVE-2016-9355",
    6.8,
    "2017-01-17",
    "Alaris 8015 PC Unit: physical access allows reading the wireless network credentials.",
    "Firmware",
    { advisory: "ICSMA-17-017-02" },
  ),
  cve(
    "CVE-2023-30559",
    5.2,
    "2023-07-13",
    "Alaris Guardrails Suite MX: firmware update package not validated.",
    "Firmware",
    { advisory: "ICSMA-23-194-01" },
  ),
  cve(
    "CVE-2023-30560",
    6.8,
    "2023-07-13",
    "Alaris Guardrails Suite MX: PCU configuration can be changed without authentication.",
    "Firmware",
    { advisory: "ICSMA-23-194-01" },
  ),
  cve(
    "CVE-2023-30561",
    6.1,
    "2023-07-13",
    "Alaris Guardrails Suite MX: data flowing between PCU and modules is not encrypted.",
    "Firmware",
    { advisory: "ICSMA-23-194-01" },
  ),
  cve(
    "CVE-2023-30562",
    6.7,
    "2023-07-13",
    "Alaris Guardrails Suite MX: dataset integrity is not verified.",
    "Firmware",
    { advisory: "ICSMA-23-194-01" },
  ),
  cve(
    "CVE-2023-30563",
    8.2,
    "2023-07-13",
    "Alaris Systems Manager: stored cross-site scripting.",
    "Application",
    { advisory: "ICSMA-23-194-01" },
  ),
  cve(
    "CVE-2023-30564",
    6.9,
    "2023-07-13",
    "Alaris CQI Reporter: stored cross-site scripting.",
    "Application",
    { advisory: "ICSMA-23-194-01" },
  ),
  cve(
    "CVE-2023-30565",
    3.5,
    "2023-07-13",
    "Alaris Guardrails Suite MX: cleartext transmission of sensitive information.",
    "Firmware",
    { advisory: "ICSMA-23-194-01" },
  ),
  cve(
    "CVE-2020-12039",
    4.3,
    "2020-06-18",
    "Sigma Spectrum: hard-coded password on the wireless battery module.",
    "Firmware",
    { advisory: "ICSMA-20-170-04" },
  ),
  cve(
    "CVE-2020-12040",
    7.3,
    "2020-06-18",
    "Sigma Spectrum: cleartext transmission of pump data.",
    "Firmware",
    { advisory: "ICSMA-20-170-04" },
  ),
  cve(
    "CVE-2020-12045",
    8.6,
    "2020-06-18",
    "Sigma Spectrum: hard-coded password exposed by the wireless battery module.",
    "Firmware",
    { advisory: "ICSMA-20-170-04" },
  ),
  cve(
    "CVE-2022-26390",
    4.2,
    "2022-09-08",
    "Sigma Spectrum: network credentials stored unencrypted.",
    "Firmware",
    { advisory: "ICSMA-22-251-01" },
  ),
  cve(
    "CVE-2022-26392",
    3.1,
    "2022-09-08",
    "Sigma Spectrum: format string weakness in the wireless battery module.",
    "Firmware",
    { advisory: "ICSMA-22-251-01" },
  ),
  cve(
    "CVE-2022-26394",
    7.5,
    "2022-09-08",
    "Sigma Spectrum: missing authentication for a critical function.",
    "Firmware",
    { advisory: "ICSMA-22-251-01" },
  ),
  cve(
    "CVE-2021-33882",
    6.8,
    "2021-10-21",
    "Infusomat Space: missing authentication for a critical function.",
    "Firmware",
    { advisory: "ICSMA-21-294-01" },
  ),
  cve(
    "CVE-2021-33883",
    5.9,
    "2021-10-21",
    "Infusomat Space: cleartext transmission of sensitive information.",
    "Firmware",
    { advisory: "ICSMA-21-294-01" },
  ),
  cve(
    "CVE-2021-33885",
    9.0,
    "2021-10-21",
    "Infusomat Space: insufficient verification of data authenticity.",
    "Firmware",
    { advisory: "ICSMA-21-294-01" },
  ),
  cve("CVE-2020-25150", 7.6, "2020-10-22", "B. Braun SpaceCom: relative path traversal.", "Firmware", {
    advisory: "ICSMA-20-296-02",
  }),
  cve("CVE-2020-25162", 7.5, "2020-10-22", "B. Braun SpaceCom: XPath injection.", "Firmware", {
    advisory: "ICSMA-20-296-02",
  }),
  cve("CVE-2021-23236", 7.5, "2021-12-21", "Agilia Connect: uncontrolled resource consumption.", "Firmware", {
    advisory: "ICSMA-21-355-01",
  }),
  cve(
    "CVE-2021-31562",
    6.5,
    "2021-12-21",
    "Agilia Connect: broken or risky cryptographic algorithm.",
    "Firmware",
    { advisory: "ICSMA-21-355-01" },
  ),
  cve(
    "CVE-2021-41835",
    7.3,
    "2021-12-21",
    "Agilia Connect: broken or risky cryptographic algorithm.",
    "Firmware",
    { advisory: "ICSMA-21-355-01" },
  ),
  cve(
    "CVE-2021-23196",
    7.3,
    "2021-12-21",
    "Agilia Connect: insufficiently protected credentials.",
    "Firmware",
    { advisory: "ICSMA-21-355-01" },
  ),
  cve("CVE-2021-23233", 7.3, "2021-12-21", "Agilia Connect: improper access control.", "Firmware", {
    advisory: "ICSMA-21-355-01",
  }),
  cve("CVE-2017-12718", 3.7, "2017-09-07", "Medfusion 4000: buffer overflow.", "Firmware", {
    advisory: "ICSMA-17-250-02A",
  }),
  cve("CVE-2017-12720", 3.7, "2017-09-07", "Medfusion 4000: improper access control.", "Firmware", {
    advisory: "ICSMA-17-250-02A",
  }),
  cve("CVE-2017-12724", 3.7, "2017-09-07", "Medfusion 4000: hard-coded credentials.", "Firmware", {
    advisory: "ICSMA-17-250-02A",
  }),
  cve("CVE-2017-12725", 3.7, "2017-09-07", "Medfusion 4000: hard-coded credentials.", "Firmware", {
    advisory: "ICSMA-17-250-02A",
  }),
  cve("CVE-2017-12726", 3.7, "2017-09-07", "Medfusion 4000: hard-coded password.", "Firmware", {
    advisory: "ICSMA-17-250-02A",
  }),
  cve("CVE-2020-6961", 10.0, "2020-01-23", "CARESCAPE (MDhex): shared SSH private key.", "Firmware"),
  cve(
    "CVE-2020-6962",
    10.0,
    "2020-01-23",
    "CARESCAPE (MDhex): input validation in the web configuration utility.",
    "Firmware",
  ),
  cve("CVE-2020-6963", 10.0, "2020-01-23", "CARESCAPE (MDhex): hard-coded SMB credentials.", "Firmware"),
  cve(
    "CVE-2020-6964",
    10.0,
    "2020-01-23",
    "CARESCAPE (MDhex): unauthenticated keyboard switch service.",
    "Firmware",
  ),
  cve("CVE-2020-6965", 8.5, "2020-01-23", "CARESCAPE (MDhex): unsigned software updates.", "Firmware"),
  cve("CVE-2020-6966", 10.0, "2020-01-23", "CARESCAPE (MDhex): hard-coded VNC password.", "Firmware"),
  cve(
    "CVE-2019-12256",
    9.8,
    "2019-08-09",
    "VxWorks IPnet (URGENT/11): stack overflow parsing IPv4 options.",
    "OS",
  ),
  cve("CVE-2020-16212", 6.8, "2020-09-10", "IntelliVue: untrusted search path.", "Firmware"),
  cve(
    "CVE-2020-16216",
    6.5,
    "2020-09-10",
    "IntelliVue: improper validation of syntactic correctness of input.",
    "Firmware",
  ),
  cve(
    "CVE-2020-16218",
    4.2,
    "2020-09-10",
    "IntelliVue: improper neutralization of formula elements.",
    "Firmware",
  ),
  cve(
    "CVE-2020-16228",
    6.4,
    "2020-09-10",
    "IntelliVue: improper check for certificate revocation.",
    "Firmware",
  ),
  cve("CVE-2017-6022", 7.3, "2017-03-23", "BD Kiestra: hard-coded password in the database.", "Application"),
  cve(
    "CVE-2022-22767",
    8.8,
    "2022-06-14",
    "BD Pyxis: default credentials shared across the installation.",
    "Application",
  ),
  cve(
    "CVE-2020-11896",
    10.0,
    "2020-06-16",
    "Treck TCP/IP stack (Ripple20): IPv4 tunnelling remote code execution.",
    "OS",
  ),
  cve("CVE-2020-11897", 10.0, "2020-06-16", "Treck TCP/IP stack (Ripple20): IPv6 out-of-bounds write.", "OS"),
  cve("CVE-2017-0144", 8.1, "2017-03-17", "Windows SMBv1 remote code execution (EternalBlue).", "OS", {
    kevDue: "2022-08-10",
    ransomware: true,
  }),
  cve("CVE-2017-0143", 8.1, "2017-03-17", "Windows SMBv1 remote code execution.", "OS", {
    kevDue: "2022-05-03",
    ransomware: true,
  }),
  cve("CVE-2019-0708", 9.8, "2019-05-16", "Remote Desktop Services remote code execution (BlueKeep).", "OS", {
    kevDue: "2022-05-03",
    ransomware: true,
  }),
  cve("CVE-2020-1472", 10.0, "2020-08-17", "Netlogon elevation of privilege (Zerologon).", "OS", {
    kevDue: "2020-09-21",
    ransomware: true,
  }),
  cve(
    "CVE-2021-44228",
    10.0,
    "2021-12-10",
    "Apache Log4j2 JNDI remote code execution (Log4Shell).",
    "Application",
    { kevDue: "2021-12-24", ransomware: true },
  ),
  cve("CVE-2018-10660", 9.8, "2018-06-26", "Axis camera shell command injection.", "Firmware"),
  cve("CVE-2021-36260", 9.8, "2021-09-18", "Hikvision web server command injection.", "Firmware", {
    kevDue: "2022-01-24",
  }),
  cve("CVE-2023-20198", 10.0, "2023-10-16", "Cisco IOS XE web UI privilege escalation.", "OS", {
    kevDue: "2023-10-20",
  }),
  cve("CVE-2021-39238", 9.3, "2021-11-01", "HP printer buffer overflow (Printing Shellz).", "Firmware"),
  cve("CVE-2020-3161", 9.8, "2020-04-15", "Cisco IP Phone web server remote code execution.", "Firmware"),
];

const CVE_INDEX = new Map(CVES.map((c, i) => [c.id, i]));

const SITES = [
  { name: "Main Campus", location: "Boston", sensor: "MC" },
  { name: "Children's Pavilion", location: "Boston", sensor: "CP" },
  { name: "North Clinic", location: "Cambridge", sensor: "NC" },
  { name: "Oncology Center", location: "Brookline", sensor: "OC" },
].map((s) => ({ ...s, json: JSON.stringify({ location: s.location, name: s.name }) }));
const SENSOR_TYPES = ["Access Switch", "LAN Controller", "Wireless LAN Controller"];
const WARDS = ["ICU", "ED", "ONC", "PEDS", "SURG", "CARD", "MAT", "RAD", "LAB", "PHARM"];

const ALERT_TEMPLATES: Array<{
  title: string;
  type: string;
  classification: string;
  severity: ArmisAlert["severity"];
  description: string;
  policy?: { id: number; title: string; labels: string[] };
  mitre?: string;
}> = [
  {
    title: "[Threat] Heavy Port Scan in Network",
    type: "System Policy Violation",
    classification: "Security - Other",
    severity: "High",
    description: "The Armis security platform has detected a violation of a policy and generated an alert.",
    mitre: "T1046 - Network Service Scanning",
  },
  {
    title: "Communication to a suspicious host",
    type: "System Policy Violation",
    classification: "Security - Other",
    severity: "Critical",
    description:
      "Mitre Tactic: Command and Control. Compromised systems will attempt to establish communication with their C2 systems. ",
    mitre: "T1071 - Application Layer Protocol",
  },
  {
    title: "[Risk] Device Susceptible to Ransomware",
    type: "System Policy Violation",
    classification: "Security - Other",
    severity: "Critical",
    description: "The Armis security platform has detected a violation of a policy and generated an alert.",
  },
  {
    title: "Medical device communicating with an unapproved server",
    type: "Policy Violation",
    classification: "Security - Policy",
    severity: "High",
    description: "A medical device opened a connection to a server outside its approved clinical servers.",
    policy: {
      id: 612,
      title: "Medical devices talk to approved servers only",
      labels: ["Medical Device Policy", "Segmentation"],
    },
  },
  {
    title: "Default credentials used to log in",
    type: "Policy Violation",
    classification: "Security - Authentication",
    severity: "Critical",
    description: "A login with a vendor default password was observed. ",
    policy: { id: 345, title: "Default credentials", labels: ["Credential Hygiene"] },
    mitre: "T1078 - Valid Accounts",
  },
  {
    title: "SMBv1 traffic from a medical device",
    type: "Anomaly Detection",
    classification: "Security - Other",
    severity: "Medium",
    description: "The device used SMBv1, which is disabled on the rest of the network.",
  },
  {
    title: "Unusual outbound data volume",
    type: "Anomaly Detection",
    classification: "Security - Exfiltration",
    severity: "Low",
    description: "The device sent more data to the internet than in the previous 30 days.",
    mitre: "T1048 - Exfiltration Over Alternative Protocol",
  },
];

// ---------------------------------------------------------------------------------------------
// Deterministic hashing

function mix32(value: number): number {
  let a = value | 0;
  a ^= a >>> 16;
  a = Math.imul(a, 0x7feb352d);
  a ^= a >>> 15;
  a = Math.imul(a, 0x846ca68b);
  a ^= a >>> 16;
  return a >>> 0;
}

function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase().padStart(2, "0"));
const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, "0");

/** ISO-8601 with microseconds and `+00:00`, the Armis format. */
export function isoMicros(us: number): string {
  const sec = Math.floor(us / 1_000_000);
  if (sec !== cachedSecond) {
    cachedSecond = sec;
    cachedPrefix = new Date(sec * 1000).toISOString().slice(0, 19);
  }
  const frac = us - sec * 1_000_000;
  return `${cachedPrefix}.${String(frac).padStart(6, "0")}+00:00`;
}
// Consecutive devices share a second, so one cached prefix saves most Date formatting.
let cachedSecond = Number.NaN;
let cachedPrefix = "";

/** Largest largest-remainder allocation of `total` over `weights`. */
function allocate(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const raw = weights.map((wt) => (wt / sum) * total);
  const out = raw.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = raw.map((r, i) => [r - Math.floor(r), i] as const).sort((a, b) => b[0] - a[0]);
  for (const [, i] of order) {
    if (left <= 0) break;
    out[i] = (out[i] ?? 0) + 1;
    left--;
  }
  return out;
}

/** Alert kind of each entry of ALERT_TEMPLATES, in the same order. */
const ALERT_KINDS: readonly AlertKind[] = [
  "port_scan",
  "c2_communication",
  "ransomware_risk",
  "unapproved_server",
  "default_credential_login",
  "smbv1",
  "exfiltration",
];

interface ClinicalSpec {
  fdaClass: 1 | 2 | 3 | null;
  phi: boolean;
  equipmentClass: string | null;
  consequenceOfFailure: DeviceFacts["consequenceOfFailure"];
  /** Share of devices in use at any moment (0 for devices that are never "in use"). */
  inUseRate: number;
  battery: boolean;
  /** Last octets of the clinical servers (pump server, drug library, central station, PACS). */
  servers: number[];
}

const CLINICAL: Record<DeviceClass, ClinicalSpec> = {
  infusion_pump: {
    fdaClass: 2,
    phi: true,
    equipmentClass: "Infusion Device",
    consequenceOfFailure: "Life Support",
    inUseRate: 0.6,
    battery: true,
    servers: [10, 11],
  },
  patient_monitor: {
    fdaClass: 2,
    phi: true,
    equipmentClass: "Patient Monitoring",
    consequenceOfFailure: "High",
    inUseRate: 0.7,
    battery: true,
    servers: [20],
  },
  imaging: {
    fdaClass: 2,
    phi: true,
    equipmentClass: "Imaging",
    consequenceOfFailure: "Medium",
    inUseRate: 0,
    battery: false,
    servers: [30],
  },
  lab_analyzer: {
    fdaClass: 1,
    phi: true,
    equipmentClass: "Laboratory",
    consequenceOfFailure: "Medium",
    inUseRate: 0,
    battery: false,
    servers: [40],
  },
  nurse_call: {
    fdaClass: 1,
    phi: false,
    equipmentClass: "Communication",
    consequenceOfFailure: "High",
    inUseRate: 0,
    battery: false,
    servers: [50],
  },
  medication_dispensing: {
    fdaClass: 2,
    phi: true,
    equipmentClass: "Medication Management",
    consequenceOfFailure: "Medium",
    inUseRate: 0,
    battery: false,
    servers: [60],
  },
  clinical_workstation: {
    fdaClass: null,
    phi: true,
    equipmentClass: null,
    consequenceOfFailure: "Medium",
    inUseRate: 0,
    battery: false,
    servers: [],
  },
  building_iot: {
    fdaClass: null,
    phi: false,
    equipmentClass: null,
    consequenceOfFailure: "Low",
    inUseRate: 0,
    battery: false,
    servers: [],
  },
  it: {
    fdaClass: null,
    phi: false,
    equipmentClass: null,
    consequenceOfFailure: "Low",
    inUseRate: 0,
    battery: false,
    servers: [],
  },
};

/**
 * Models whose firmware carries a fixed password (their advisories list CWE-798/259), on every
 * device of the model: Medfusion 4000 (ICSMA-17-250-02A, CVE-2017-12724/12725/12726), CARESCAPE
 * B450 (MDhex, CVE-2020-6963/6966) and Sigma Spectrum 35700 (ICSMA-20-170-04 CVE-2020-12039: the
 * pump's own keypad has hard-coded biomed passwords on the 6.x/8.x pumps; CVE-2020-12045/12047 are
 * the wireless battery module's Telnet/FTP accounts). A clinical engineer treats such a model as
 * "cannot be rotated" whatever its software level: compensating controls, never a rotation.
 */
const HARD_CODED_MODELS = new Set(["Medfusion 4000", "CARESCAPE B450", "Sigma Spectrum 35700"]);

/**
 * Firmware lines of the models whose advisories (`reference/data/advisories/csaf/`) give product
 * version ranges the advisory matcher can decide. `affected`: versions inside a range of the model's
 * product tree (a vulnerable device runs one of them); `fixed`: the vendor's fixed release, outside
 * every range (a not-vulnerable device runs it).
 * - Alaris 8015 PCU: ICSMA-17-017-02 (9.7, ≤9.33, ≤9.5) and ICSMA-23-194-01 (≤12.1.3); BD's fix is
 *   PCU 12.3.1 (Alaris System 12.3).
 * - Medfusion 4000: ICSMA-17-250-02A (1.1, 1.5, 1.6); Smiths Medical's fix is 1.6.1.
 * - Sigma Spectrum 35700: ICSMA-20-170-04/22-251-01 (pump 6.x, 8.x, 9.x); no pump release outside
 *   those ranges is named (the fixes are battery-module firmware), so the fixed version `10.00.00` is
 *   synthetic.
 */
const FIRMWARE: Readonly<Record<string, { affected: readonly string[]; fixed: string }>> = {
  "Alaris 8015 PC Unit": { affected: ["9.7", "9.19.3", "9.33", "12.1.3"], fixed: "12.3.1" },
  "Medfusion 4000": { affected: ["1.1", "1.5", "1.6"], fixed: "1.6.1" },
  "Sigma Spectrum 35700": { affected: ["8.00.01", "6.02.00"], fixed: "10.00.00" },
};

/** The firmware version of a device of `model` (see {@link FIRMWARE}). */
function firmwareOf(model: ModelSpec, os: OsSpec, vulnerable: boolean, h: number): string {
  const line = FIRMWARE[model.model];
  if (line === undefined) return os.version;
  return vulnerable ? (line.affected[h % line.affected.length] as string) : line.fixed;
}

/**
 * Credential of a device: hard-coded for the models above; otherwise about 30% still on the
 * model's factory default (one fingerprint per model), 15% on one organisation-wide password per
 * site group, the rest unique.
 */
function credentialOf(model: ModelSpec, cls: DeviceClass, h: number, i: number): CredentialFacts {
  const username = cls === "it" || cls === "clinical_workstation" ? "administrator" : "service";
  if (HARD_CODED_MODELS.has(model.model))
    return {
      kind: "hard_coded",
      username,
      fingerprint: `hc-${hex8(mix32(hashString(model.model) ^ 0x1111))}`,
    };
  const r = (h >>> 12) % 100;
  if (r < 30)
    return { kind: "default", username, fingerprint: `df-${hex8(mix32(hashString(model.model) ^ 0x2222))}` };
  if (r < 45)
    return { kind: "shared", username, fingerprint: `sh-${hex8(mix32(((h >>> 20) & 1) ^ 0x3333))}` };
  return { kind: "unique", username, fingerprint: `un-${hex8(mix32(i ^ 0x4444))}${hex8(h)}` };
}

function hashString(s: string): number {
  let x = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) x = Math.imul(x ^ s.charCodeAt(k), 0x01000193);
  return x >>> 0;
}

/** A stable RFC 4122-shaped UUID for device `i`. */
function deviceUid(i: number, seed: number): string {
  const a = hex8(mix32(i ^ seed ^ 0x6a09e667));
  const b = hex8(mix32(i ^ seed ^ 0xbb67ae85));
  const c = hex8(mix32(i ^ seed ^ 0x3c6ef372));
  const d = hex8(mix32(i ^ seed ^ 0xa54ff53a));
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-8${c.slice(1, 4)}-${c.slice(4)}${d}`;
}

// ---------------------------------------------------------------------------------------------
// The fleet

interface Profile {
  cls: ClassSpec;
  model: ModelSpec;
  os: OsSpec;
  oldWindows: boolean;
  /** Pre-serialised `"key":value` fragments for {@link Fleet.deviceJson}. */
  json: {
    boundaries: string;
    category: string;
    manufacturer: string;
    os: string;
    purdueLevel: string;
    type: string;
  };
}

const kv = (key: string, value: unknown) => `${JSON.stringify(key)}:${JSON.stringify(value)}`;

function profileOf(cls: ClassSpec, model: ModelSpec, os: OsSpec): Profile {
  return {
    cls,
    model,
    os,
    oldWindows: os.oldWindows === true,
    json: {
      boundaries: kv("boundaries", cls.boundaries),
      category: kv("category", model.category),
      manufacturer: `${kv("manufacturer", model.manufacturer)},${kv("model", model.model)}`,
      os: `${kv("operatingSystem", os.name)},${kv("operatingSystemVersion", os.version)}`,
      purdueLevel: kv("purdueLevel", cls.purdueLevel),
      type: `${kv("type", model.type)},${kv("typeEnum", model.typeEnum)}`,
    },
  };
}

interface Slot {
  profile: number;
  vulnerable: boolean;
  cves: number[];
  alerts: number;
}

const DAY_US = 86_400_000_000;

/** A generated fleet. Every accessor is O(1) or O(log PERIOD); nothing grows with `size`. */
export class Fleet {
  readonly size: number;
  readonly seed: number;
  readonly startMs: number;
  readonly #startUs: number;
  readonly #profiles: Profile[] = [];
  readonly #slots: Slot[];
  /** Sorted slot residues per CVE index. */
  readonly #cveSlots: Int32Array[];
  /** Sorted residues of slots with alerts, and the cumulative alert count before each. */
  readonly #alertSlots: Int32Array;
  readonly #alertCum: Int32Array;
  /** 1 where the slot's device carries a critical risk (33% of slots, all of them vulnerable). */
  readonly #criticalSlots: Uint8Array;
  #vulnerabilities: ArmisVulnerability[] | undefined;

  constructor(options: FleetOptions) {
    if (!Number.isInteger(options.size) || options.size < 0)
      throw new RangeError("fleet size must be a non-negative integer");
    this.size = options.size;
    this.seed = options.seed ?? 1;
    this.startMs = options.startMs ?? DEFAULT_START_MS;
    this.#startUs = this.startMs * 1000;
    const rng = mulberry32(mix32(this.seed ^ 0x5bd1e995));
    const slots: Slot[] = [];
    const classCounts = allocate(
      PERIOD,
      CLASSES.map((c) => c.share),
    );
    CLASSES.forEach((cls, ci) => {
      const modelCounts = allocate(
        classCounts[ci] ?? 0,
        cls.models.map((m) => m.weight),
      );
      cls.models.forEach((model, mi) => {
        const count = modelCounts[mi] ?? 0;
        const osCounts = allocate(
          count,
          model.os.map((o) => o.weight),
        );
        // Vulnerable slots per model keep the class rate exact, spread over its OS variants.
        let vulnerableLeft = Math.round(count * cls.vulnerable);
        let remaining = count;
        model.os.forEach((os, oi) => {
          const profile = this.#profiles.length;
          this.#profiles.push(profileOf(cls, model, os));
          const pool = [...new Set([...model.cves, ...(os.cves ?? [])])]
            .map((id) => CVE_INDEX.get(id))
            .filter((x): x is number => x !== undefined);
          const n = osCounts[oi] ?? 0;
          for (let k = 0; k < n; k++) {
            const vulnerable = pool.length > 0 && rng() * remaining < vulnerableLeft;
            remaining--;
            const cves: number[] = [];
            if (vulnerable) {
              vulnerableLeft--;
              const want = 1 + Math.floor(rng() * Math.min(3, pool.length));
              const shuffled = [...pool].sort(() => rng() - 0.5);
              cves.push(...shuffled.slice(0, want));
            }
            const alertChance = vulnerable ? 0.06 : 0.015;
            const alerts = rng() < alertChance ? 1 + Math.floor(rng() * 3) : 0;
            slots.push({ profile, vulnerable, cves, alerts });
          }
        });
      });
    });
    for (let i = slots.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      const t = slots[i] as Slot;
      slots[i] = slots[j] as Slot;
      slots[j] = t;
    }
    this.#slots = slots;
    const perCve: number[][] = CVES.map(() => []);
    const alertSlots: number[] = [];
    const alertCum: number[] = [0];
    slots.forEach((slot, r) => {
      for (const c of slot.cves) perCve[c]?.push(r);
      if (slot.alerts > 0) {
        alertSlots.push(r);
        alertCum.push((alertCum[alertCum.length - 1] ?? 0) + slot.alerts);
      }
    });
    this.#cveSlots = perCve.map((list) => Int32Array.from(list));
    this.#alertSlots = Int32Array.from(alertSlots);
    this.#alertCum = Int32Array.from(alertCum);
    // Critical risk: exactly CRITICAL_SHARE of every period, chosen among the vulnerable slots by a
    // hash (not the rng, so the rest of the fleet does not change with it).
    const vulnerableSlots = slots.flatMap((slot, r) => (slot.vulnerable ? [r] : []));
    vulnerableSlots.sort((a, b) => mix32(a ^ this.seed ^ 0x2f1c) - mix32(b ^ this.seed ^ 0x2f1c) || a - b);
    this.#criticalSlots = new Uint8Array(PERIOD);
    for (const r of vulnerableSlots.slice(0, Math.round(PERIOD * CRITICAL_SHARE))) this.#criticalSlots[r] = 1;
  }

  // ---- devices ----------------------------------------------------------------------------

  /** `lastSeen` of device `i` in epoch microseconds; non-decreasing in `i`. */
  lastSeenUs(i: number): number {
    return this.#startUs + Math.floor(i / TIE_GROUP) * STEP_US;
  }

  /** Armis device id of device index `i`. */
  deviceId(i: number): number {
    return i + 1;
  }

  /** The profile device `i` was drawn from. */
  profile(i: number): DeviceProfile {
    const slot = this.#slot(i);
    const p = this.#profiles[slot.profile] as Profile;
    return {
      deviceClass: p.cls.key,
      manufacturer: p.model.manufacturer,
      model: p.model.model,
      operatingSystem: p.os.name,
      operatingSystemVersion: p.os.version,
      oldWindows: p.oldWindows,
      vulnerable: slot.vulnerable,
      cves: slot.cves.map((c) => (CVES[c] as CveSpec).id),
      alerts: slot.alerts,
    };
  }

  /** Index of the first device whose `lastSeen` is at or after `us` (or `size`). */
  firstDeviceAtOrAfter(us: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.lastSeenUs(mid) < us) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The per-device values both record builders use. */
  #parts(i: number) {
    const slot = this.#slot(i);
    const p = this.#profiles[slot.profile] as Profile;
    const h = mix32(Math.imul(i, 0x9e3779b1) ^ this.seed);
    const h2 = mix32(h ^ 0x68e31da4);
    const id = i + 1;
    const lastUs = this.lastSeenUs(i);
    const firstUs = lastUs - (1 + (h % 700)) * DAY_US - (h2 % 86_400) * 1_000_000;
    const site = SITES[h2 & 3] as (typeof SITES)[number];
    const ward = WARDS[(h >>> 8) % WARDS.length] as string;
    const ip = `10.${Math.floor(i / 62_500) & 255}.${Math.floor(i / 250) % 250}.${1 + (i % 250)}`;
    const macLow = Math.imul(i, 0x2545f491) & 0xffffff;
    const oui = mix32(slot.profile + 7919) & 0xfcffff;
    const isWindows = p.os.name === "Windows";
    const tags: string[] = [];
    if (p.cls.boundaries === "Medical") tags.push("Medical Device");
    if (slot.vulnerable && slot.cves.length > 1) tags.push("Critical Vulnerabilities");
    if (h2 & 0x100) tags.push("Misconfigurations");
    return {
      slot,
      p,
      h,
      id,
      lastUs,
      firstUs,
      site,
      ward,
      ip,
      mac: `${HEX[(oui >>> 16) & 0xfe]}:${HEX[(oui >>> 8) & 255]}:${HEX[oui & 255]}:${HEX[macLow >>> 16]}:${HEX[(macLow >>> 8) & 255]}:${HEX[macLow & 255]}`,
      name: `${p.model.prefix}-${ward}-${String(id).padStart(6, "0")}`,
      lastSeen: isoMicros(lastUs),
      firstSeen: isoMicros(firstUs),
      wlc: (h & 4) !== 0,
      protected: isWindows && p.cls.key !== "infusion_pump" && (h & 8) !== 0,
      tags,
      risk: Math.min(100, p.cls.riskBase + (slot.vulnerable ? 25 : 0) + (h % 15)),
      accessSwitch: h & 16 ? `${site.sensor}-${ward}-SW${(h >>> 12) % 8}` : null,
      businessImpact: p.cls.businessImpact[(h >>> 4) % p.cls.businessImpact.length] as string,
      ipv6: (h & 32) !== 0,
      sensorType: SENSOR_TYPES[(h >>> 16) % 3] as string,
      userId: p.cls.key === "clinical_workstation" || p.model.typeEnum === "LAPTOP" ? 1 + (h % 5000) : 0,
    };
  }

  /** Device record `i` in the Armis `in:devices` shape. */
  device(i: number): ArmisDevice {
    const d = this.#parts(i);
    const { p, site, lastSeen, firstSeen } = d;
    const dataSources: ArmisDataSource[] = [
      {
        firstSeen,
        instances: [],
        lastSeen,
        name: "Traffic Inspection",
        types: ["Traffic Inspection", "Data Analysis"],
      },
    ];
    if (d.wlc) {
      dataSources.push({
        firstSeen,
        instances: [{ firstSeen, lastSeen, name: `${site.sensor} Wireless Controller` }],
        lastSeen,
        name: "Cisco WLC",
        types: ["WLC"],
      });
    }
    return {
      accessSwitch: d.accessSwitch,
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
      protections: d.protected
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
      sensor: { name: `${site.name} ${d.ward}`, type: d.sensorType },
      site: { location: site.location, name: site.name },
      tags: d.tags,
      type: p.model.type,
      typeEnum: p.model.typeEnum,
      userIds: d.userId ? [d.userId] : [],
      visibility: "Full",
    };
  }

  /**
   * `JSON.stringify(device(i))`, built by string concatenation from pre-serialised profile
   * fragments: the simulator serves 1000-device pages several times faster this way. Every
   * variable part is ASCII without quotes or backslashes, so nothing needs escaping.
   */
  deviceJson(i: number): string {
    const d = this.#parts(i);
    const { p, site, lastSeen, firstSeen } = d;
    const j = p.json;
    const ds =
      `[{"firstSeen":"${firstSeen}","instances":[],"lastSeen":"${lastSeen}","name":"Traffic Inspection","types":["Traffic Inspection","Data Analysis"]}` +
      (d.wlc
        ? `,{"firstSeen":"${firstSeen}","instances":[{"firstSeen":"${firstSeen}","lastSeen":"${lastSeen}","name":"${site.sensor} Wireless Controller"}],"lastSeen":"${lastSeen}","name":"Cisco WLC","types":["WLC"]}]`
        : "]");
    const protections = d.protected
      ? `[{"creationTime":"${new Date(Math.floor(d.firstUs / 1000)).toUTCString()}","deviceId":${d.id},"lastSeenTime":"${new Date(Math.floor(d.lastUs / 1000)).toUTCString()}","protectionName":"CrowdStrike Falcon"}]`
      : "[]";
    let tags = "[";
    for (let t = 0; t < d.tags.length; t++) tags += `${t ? "," : ""}"${d.tags[t]}"`;
    tags += "]";
    return (
      `{"accessSwitch":${d.accessSwitch === null ? "null" : `"${d.accessSwitch}"`},${j.boundaries},"businessImpact":"${d.businessImpact}",${j.category},"customProperties":{},"dataSources":${ds},` +
      `"displayTitle":"${d.name}","firstSeen":"${firstSeen}","id":${d.id},"ipAddress":"${d.ip}","ipv6":${d.ipv6 ? `["::ffff:${d.ip}"]` : "[]"},"lastSeen":"${lastSeen}","macAddress":"${d.mac}",` +
      `${j.manufacturer},"name":"${d.name}","names":"${d.name}",${j.os},"protections":${protections},${j.purdueLevel},"riskLevel":${d.risk},` +
      `"sensor":{"name":${JSON.stringify(`${site.name} ${d.ward}`)},"type":"${d.sensorType}"},"site":${site.json},"tags":${tags},${j.type},"userIds":${d.userId ? `[${d.userId}]` : "[]"},"visibility":"Full"}`
    );
  }

  // ---- vendor-neutral view (the simulated hospital) ----------------------------------------

  /**
   * Everything the simulated hospital knows about device `i`, independent of any vendor's shape.
   * Every monitor simulator renders these facts in its own API shape, so the same device (same MAC,
   * serial, IP and name) appears through every monitor that is enabled.
   */
  facts(i: number): DeviceFacts {
    const d = this.#parts(i);
    const { p, slot, h } = d;
    const h3 = mix32(h ^ 0x7f4a7c15 ^ this.seed);
    const cls = p.cls.key;
    const critical = this.#critical(i);
    const clinical = CLINICAL[cls];
    const credential = credentialOf(p.model, cls, h3, i);
    // Pumps and monitors in use: about 60% of them are running therapy at any moment.
    const inUse = clinical.inUseRate > 0 && (h3 >>> 8) % 1000 < clinical.inUseRate * 1000;
    const battery = clinical.battery ? 15 + ((h3 >>> 4) % 86) : null;
    return {
      index: i,
      id: d.id,
      uid: deviceUid(i, this.seed),
      mac: d.mac,
      ip: d.ip,
      ipv6: d.ipv6 ? `::ffff:${d.ip}` : null,
      name: d.name,
      serial: `${p.model.prefix.replace(/[^A-Z0-9]/g, "").slice(0, 6)}${hex8(mix32(i ^ 0x51ed27 ^ this.seed)).toUpperCase()}`,
      deviceClass: cls,
      manufacturer: p.model.manufacturer,
      model: p.model.model,
      vendorType: p.model.type,
      typeEnum: p.model.typeEnum,
      category: p.model.category,
      operatingSystem: p.os.name,
      operatingSystemVersion: p.os.version,
      firmwareVersion: firmwareOf(p.model, p.os, slot.vulnerable, h3 >>> 3),
      oldWindows: p.oldWindows,
      site: { name: d.site.name, location: d.site.location },
      ward: d.ward,
      firstSeenUs: d.firstUs,
      lastSeenUs: d.lastUs,
      vulnerable: slot.vulnerable,
      criticalRisk: critical,
      cves: slot.cves.map((c) => (CVES[c] as CveSpec).id),
      risk: critical ? 90 + (h3 % 11) : Math.min(89, d.risk),
      businessImpact: d.businessImpact,
      purdueLevel: p.cls.purdueLevel,
      fdaClass: clinical.fdaClass,
      phi: clinical.phi,
      equipmentClass: clinical.equipmentClass,
      consequenceOfFailure: clinical.consequenceOfFailure,
      batteryLevel: battery,
      inUse,
      utilizationRate:
        clinical.inUseRate > 0
          ? Math.round((inUse ? 0.5 + (h3 % 50) / 100 : (h3 % 30) / 100) * 100) / 100
          : null,
      credential,
      clinicalServers: clinical.servers.map((s) => `10.200.${d.site.sensor === "MC" ? 1 : 2}.${s}`),
    };
  }

  /** True for the devices whose risk the hospital rates critical: exactly 33% of every period. */
  #critical(i: number): boolean {
    return this.#criticalSlots[i % PERIOD] === 1;
  }

  /** Vendor-neutral view of alert `k`: which device, when, and what kind of attack or finding. */
  alertFacts(k: number): AlertFacts {
    const { device, h, ti } = this.#alertOf(k);
    const t = ALERT_TEMPLATES[ti] as (typeof ALERT_TEMPLATES)[number];
    return {
      index: k,
      device,
      timeUs: this.lastSeenUs(device),
      kind: ALERT_KINDS[ti] as AlertKind,
      title: t.title,
      description: t.description.trim(),
      severity: t.severity,
      mitre: t.mitre ?? null,
      resolved: h % 10 === 0,
    };
  }

  // ---- alerts -----------------------------------------------------------------------------

  /** Credential kind of device `i` (what {@link facts} reports), without building the facts. */
  #credentialKind(i: number): CredentialKind {
    const d = this.#parts(i);
    return credentialOf(d.p.model, d.p.cls.key, mix32(d.h ^ 0x7f4a7c15 ^ this.seed), i).kind;
  }

  /**
   * Device, hash and template index of alert `k`. A default-credential login can only happen on a
   * device whose password is a vendor default or a shared one: on any other device that alert is
   * the next template (SMBv1 traffic) instead.
   */
  #alertOf(k: number): { device: number; h: number; ti: number } {
    const { device, sub } = this.#alertDevice(k);
    const h = mix32(Math.imul(k + 1, 0x85ebca6b) ^ this.seed ^ 0x27d4eb2f);
    let ti = (h + sub) % ALERT_TEMPLATES.length;
    if (ALERT_KINDS[ti] === "default_credential_login") {
      const kind = this.#credentialKind(device);
      if (kind !== "default" && kind !== "shared") ti = (ti + 1) % ALERT_TEMPLATES.length;
    }
    return { device, h, ti };
  }

  /** Number of alerts in this fleet. */
  get alertCount(): number {
    const perPeriod = this.#alertCum[this.#alertCum.length - 1] ?? 0;
    const full = Math.floor(this.size / PERIOD);
    const rest = this.size - full * PERIOD;
    // Alert slots with residue < rest.
    let lo = 0;
    let hi = this.#alertSlots.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#alertSlots[mid] as number) < rest) lo = mid + 1;
      else hi = mid;
    }
    return full * perPeriod + (this.#alertCum[lo] as number);
  }

  /** Device index that alert `k` is about, and which of that device's alerts it is. */
  #alertDevice(k: number): { device: number; sub: number } {
    const perPeriod = this.#alertCum[this.#alertCum.length - 1] as number;
    const q = Math.floor(k / perPeriod);
    const w = k - q * perPeriod;
    let lo = 0;
    let hi = this.#alertSlots.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((this.#alertCum[mid] as number) <= w) lo = mid;
      else hi = mid - 1;
    }
    return { device: q * PERIOD + (this.#alertSlots[lo] as number), sub: w - (this.#alertCum[lo] as number) };
  }

  /** `time` of alert `k` in epoch microseconds; non-decreasing in `k`. */
  alertTimeUs(k: number): number {
    return this.lastSeenUs(this.#alertDevice(k).device);
  }

  /** Index of the first alert whose `time` is at or after `us` (or `alertCount`). */
  firstAlertAtOrAfter(us: number): number {
    let lo = 0;
    let hi = this.alertCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.alertTimeUs(mid) < us) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Alert record `k` in the Armis `in:alerts` shape (type drift included). */
  alert(k: number): ArmisAlert {
    const { device, h, ti } = this.#alertOf(k);
    const t = ALERT_TEMPLATES[ti] as (typeof ALERT_TEMPLATES)[number];
    const time = isoMicros(this.lastSeenUs(device));
    const deviceIds = [device + 1];
    // A login is one device's; other alerts may name a second one (the previous device).
    if (h & 1 && device > 0 && ALERT_KINDS[ti] !== "default_credential_login") deviceIds.push(device);
    const uuid = (x: number) => {
      const a = hex8(mix32(x));
      const b = hex8(mix32(x ^ 0x1b873593));
      const c = hex8(mix32(x ^ 0xcc9e2d51));
      const d = hex8(mix32(x ^ 0xe6546b64));
      return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-a${c.slice(1, 4)}-${c.slice(4)}${d}`;
    };
    // Type drift as seen in the reference data: labels are an array, a string or null.
    let policyLabels: ArmisAlert["policyLabels"] = null;
    if (t.policy) policyLabels = h & 2 ? t.policy.labels : t.policy.labels.join(", ");
    return {
      activityUUIDs: [uuid(h), ...(h & 4 ? [uuid(h ^ 0x9e3779b9)] : [])],
      affectedDevicesCount: deviceIds.length,
      alertId: k + 1,
      classification: t.classification,
      connectionIds: h & 8 ? [`conn-${h % 100_000}`] : [],
      description: t.description,
      destinationEndpoints: h & 8 ? [`10.250.${(h >>> 8) & 255}.${(h >>> 16) & 255}`] : [],
      deviceIds,
      lastAlertUpdateTime: h & 16 ? time : null,
      mitreAttackLabels: t.mitre && h & 32 ? t.mitre : null,
      policyId: t.policy?.id ?? null,
      policyLabels,
      policyTitle: t.policy?.title ?? null,
      severity: t.severity,
      sourceEndpoints: h & 8 ? [`10.${(device >>> 16) & 255}.${(device >>> 8) & 255}.${device & 255}`] : [],
      status: h % 10 === 0 ? "Resolved" : "Unhandled",
      statusChangeTime: time,
      time,
      title: t.title,
      type: t.type,
    };
  }

  // ---- vulnerabilities --------------------------------------------------------------------

  /** Number of devices matched by CVE index `c`. */
  #matchCount(c: number): number {
    const residues = this.#cveSlots[c] as Int32Array;
    const full = Math.floor(this.size / PERIOD);
    const rest = this.size - full * PERIOD;
    let lo = 0;
    let hi = residues.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((residues[mid] as number) < rest) lo = mid + 1;
      else hi = mid;
    }
    return full * residues.length + lo;
  }

  /** Vulnerabilities with at least one matched device, ordered by `lastDetected` then id. */
  vulnerabilities(): readonly ArmisVulnerability[] {
    if (this.#vulnerabilities) return this.#vulnerabilities;
    const spanUs = Math.max(1, this.lastSeenUs(Math.max(0, this.size - 1)) - this.#startUs);
    const list: Array<{ v: ArmisVulnerability; us: number }> = [];
    CVES.forEach((spec, c) => {
      const total = this.#matchCount(c);
      if (total === 0) return;
      // Pairs of CVEs share one lastDetected so the boundary tie-break is exercised here too.
      const pair = Math.floor(c / 2);
      const us =
        this.#startUs +
        Math.floor((mix32(Math.imul(pair + 1, 0x9e3779b1) ^ this.seed) / 4294967296) * spanUs);
      const severity =
        spec.score >= 9 ? "Critical" : spec.score >= 7 ? "High" : spec.score >= 4 ? "Medium" : "Low";
      const h = mix32(c ^ 0x3c6ef372 ^ this.seed);
      list.push({
        us,
        v: {
          affectedDevicesCount: total,
          attackComplexity: h & 1 ? "Low" : "High",
          attackVector: spec.type === "Firmware" && h & 2 ? "Adjacent Network" : "Network",
          availabilityImpact: "High",
          avmRating: null,
          avmRatingManualChangeReason: null,
          avmRatingManualChangedBy: "",
          avmRatingManualUpdateTime: null,
          botnets: null,
          cisaDueDate: spec.kevDue ? `${spec.kevDue}T00:00:00+00:00` : null,
          commonName: null,
          confidentialityImpact: "High",
          cveUid: spec.id,
          cvssScore: spec.score,
          cvssScoreV4: null,
          description: spec.description,
          epssPercentile: spec.kevDue ? 0.99 : Math.round((h % 1000) / 10) / 100,
          epssScore: spec.kevDue ? 0.97 : Math.round(h % 5000) / 100_000,
          exploitabilityScore: 3.9,
          firstDetected: isoMicros(us - 30 * DAY_US),
          firstReferencePublishDate: null,
          firstWeaponizedReferencePublishDate: null,
          hasRansomware: spec.ransomware ?? null,
          hasRemediationInfo: spec.advisory ? "Yes" : "No",
          id: spec.id,
          impactScore: 5.9,
          integrityImpact: "High",
          isWeaponized: spec.kevDue ? true : null,
          lastDetected: isoMicros(us),
          latestExploitUpdate: null,
          numOfExploits: spec.kevDue ? 3 : 0,
          numberOfThreatActors: spec.ransomware ? 2 : 0,
          privilegesRequired: "None",
          publishedDate: `${spec.published}T00:00:00+00:00`,
          reportedByGoogleZeroDays: null,
          scope: "Unchanged",
          score: spec.score,
          severity,
          status: "Open",
          threatActors: null,
          threatTags: null,
          type: spec.type,
          userInteraction: "None",
        },
      });
    });
    list.sort((x, y) => x.us - y.us || (x.v.id < y.v.id ? -1 : 1));
    this.#vulnerabilities = list.map((x) => x.v);
    return this.#vulnerabilities;
  }

  /** Number of devices matched by `cveUid` (0 for an unknown CVE). */
  matchCount(cveUid: string): number {
    const c = CVE_INDEX.get(cveUid);
    return c === undefined ? 0 : this.#matchCount(c);
  }

  /** The k-th device match of `cveUid`, in device order. */
  match(cveUid: string, k: number): ArmisVulnerabilityMatch {
    const c = CVE_INDEX.get(cveUid);
    if (c === undefined) throw new RangeError(`unknown CVE ${cveUid}`);
    const residues = this.#cveSlots[c] as Int32Array;
    const device = Math.floor(k / residues.length) * PERIOD + (residues[k % residues.length] as number);
    const spec = CVES[c] as CveSpec;
    const last = this.lastSeenUs(device);
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

  #slot(i: number): Slot {
    return this.#slots[i % PERIOD] as Slot;
  }
}

/** Creates a deterministic fleet. */
export function createFleet(options: FleetOptions): Fleet {
  return new Fleet(options);
}
