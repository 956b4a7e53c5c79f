/**
 * The simulated hospital's catalogue: device classes with their shares, models and operating
 * systems, the CVEs they carry, sites, wards and alert templates. Data only; {@link Fleet}
 * (`fleet.ts`) draws devices from it.
 *
 * Proportions follow Cynerio's *2022 State of IoT Device Security in Healthcare* (DESIGN.md):
 * infusion pumps are 38% of the fleet and 73% of them are vulnerable, 53% of all devices have at
 * least one known vulnerability, and old Windows (XP, 7, CE, Embedded, Server 2008/2012) runs a
 * large share of imaging, laboratory, pharmacy and clinical workstations.
 *
 * CVE ids are real (most from the ICS medical advisories in `../shared/reference/data/advisories/`);
 * scores are their CVSS v3 base scores where the advisory gives one, descriptions are short
 * paraphrases. Manufacturers and models are real products; MAC prefixes, names and addresses are
 * synthetic.
 */

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

/** What an alert is about, in words every monitor simulator can render. */
export type AlertKind =
  | "port_scan"
  | "c2_communication"
  | "ransomware_risk"
  | "unapproved_server"
  | "default_credential_login"
  | "smbv1"
  | "exfiltration";

export interface OsSpec {
  name: string;
  version: string;
  weight: number;
  oldWindows?: boolean;
  cves?: string[];
}

export interface ModelSpec {
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

export interface ClassSpec {
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

export const CLASSES: ClassSpec[] = [
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

export interface CveSpec {
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

export const CVES: CveSpec[] = [
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

/** Index in {@link CVES} of a CVE id. */
export const CVE_INDEX = new Map(CVES.map((c, i) => [c.id, i]));

/** The hospital's sites; `sensor` is the short code in sensor, switch and controller names. */
export const SITES: ReadonlyArray<{ name: string; location: string; sensor: string }> = [
  { name: "Main Campus", location: "Boston", sensor: "MC" },
  { name: "Children's Pavilion", location: "Boston", sensor: "CP" },
  { name: "North Clinic", location: "Cambridge", sensor: "NC" },
  { name: "Oncology Center", location: "Brookline", sensor: "OC" },
];
export const WARDS = ["ICU", "ED", "ONC", "PEDS", "SURG", "CARD", "MAT", "RAD", "LAB", "PHARM"];

/**
 * The alert templates, in the order alerts draw them. Title and description are what every monitor
 * shows (the wording of Armis's reference samples); each monitor adds its own classification.
 */
export const ALERT_TEMPLATES: ReadonlyArray<{
  kind: AlertKind;
  title: string;
  severity: "Low" | "Medium" | "High" | "Critical";
  description: string;
  mitre?: string;
}> = [
  {
    kind: "port_scan",
    title: "[Threat] Heavy Port Scan in Network",
    severity: "High",
    description: "The Armis security platform has detected a violation of a policy and generated an alert.",
    mitre: "T1046 - Network Service Scanning",
  },
  {
    kind: "c2_communication",
    title: "Communication to a suspicious host",
    severity: "Critical",
    description:
      "Mitre Tactic: Command and Control. Compromised systems will attempt to establish communication with their C2 systems. ",
    mitre: "T1071 - Application Layer Protocol",
  },
  {
    kind: "ransomware_risk",
    title: "[Risk] Device Susceptible to Ransomware",
    severity: "Critical",
    description: "The Armis security platform has detected a violation of a policy and generated an alert.",
  },
  {
    kind: "unapproved_server",
    title: "Medical device communicating with an unapproved server",
    severity: "High",
    description: "A medical device opened a connection to a server outside its approved clinical servers.",
  },
  {
    kind: "default_credential_login",
    title: "Default credentials used to log in",
    severity: "Critical",
    description: "A login with a vendor default password was observed. ",
    mitre: "T1078 - Valid Accounts",
  },
  {
    kind: "smbv1",
    title: "SMBv1 traffic from a medical device",
    severity: "Medium",
    description: "The device used SMBv1, which is disabled on the rest of the network.",
  },
  {
    kind: "exfiltration",
    title: "Unusual outbound data volume",
    severity: "Low",
    description: "The device sent more data to the internet than in the previous 30 days.",
    mitre: "T1048 - Exfiltration Over Alternative Protocol",
  },
];
