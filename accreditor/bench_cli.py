"""``flask bench seed``: a public directory at national/global scale, for ``bench/directory.py``.

``flask bench seed --tenants 50 --accreditations 100000 --scope-lines 2000000 [--seed 1]``
creates active bench tenants (slugs ``bench-…``, through ``tenants.services.create_tenant`` so
each has its policy and grades; programmes and reference lists are the platform's, loaded by
``refdata.services.load_platform_refdata``), then, per tenant, in bulk: CABs with locations and
public contacts, accreditations, scope items, their scope events (the grant of every line, later
extensions, suspensions and withdrawals: what ``scopes.services.scope_as_of`` and ``/verify``
read), decisions and schedule versions, and the directory projection (``DirectoryEntry``,
``DirectoryLine``, ``DirectoryEvent``) exactly as ``directory.services.publish_outcome`` writes
it — same header, history, ``search_text`` and digests, so a republish finds every entry
"unchanged". Finally ``directory.search.rebuild_index()`` builds the search index.

Deterministic: the same arguments (and ``--today``) give the same rows, ids included on an empty
database. Fast: rows are generated in Python and written with PostgreSQL ``COPY`` (psycopg's
``cursor.copy``) or, on SQLite, one ``executemany`` per table and tenant inside one transaction
per tenant; never the ORM per row, never ``publish()`` per accreditation. The schedule versions
carry no line snapshot and no PDFs are rendered (nothing public reads them; the directory page
then offers no PDF download).

Refuses: the production configuration (``ENV=production``); a database holding data the bench
did not make — other tenants, any user, their CABs, audit events other than the bench tenants'
creation — unless ``--force`` (the bench tenants are then created inactive, never public,
unless ``--active``); a database already seeded, unless ``--reset``, which drops Accreditor's
tables only (the models' metadata, the search index's tables, ``alembic_version``; never the
schema, never other tables) and recreates them with the migrations, refused when other data
would go and without ``--yes-drop=<the database's name>``. Realism: one reassessment with a new
schedule issue per elapsed five-year cycle, current suspensions begun at most
``SUSPENDED_DAYS_MAX`` days ago (within the default three-month maximum), every decision decided
on its effective date. On PostgreSQL each tenant's ids are reserved from the sequences (tables
locked, ids started past the sequence, sequences set past the rows before the COPY) so the live
app's inserts cannot collide.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import click
from dateutil.relativedelta import relativedelta
from flask.cli import AppGroup

bench_cli = AppGroup("bench", help="Benchmark data (the public directory at scale).")

SLUG_PREFIX = "bench-"
DESIGNATED_LINES = 2000
SHARED_NUMBERS = 3  # numbers of the first bench tenant reused by the second ("which AB?")
RETENTION_MONTHS = 12  # the tenants' default directory_retention_months
SUSPENDED_DAYS_MAX = 80  # suspensions began at most this long ago (the policy's default
# maximum is 3 months: every seeded suspension is still within it)

# -- word lists ------------------------------------------------------------------------------

AB_WORDS = [
    "albion", "nordic", "iberia", "danube", "alpine", "baltic", "celtic", "atlas", "meridian",
    "pacific", "sahara", "andes", "rhine", "tasman", "aurora", "cascade", "delta", "everest",
    "fjord", "granite", "harbour", "ionian", "jura", "karoo", "lagoon", "mistral", "nile",
    "orinoco", "prairie", "quartz", "riviera", "savanna", "tundra", "ural", "volga", "wessex",
    "yukon", "zephyr", "avalon", "boreal", "cobalt", "dune", "ember", "falcon", "glacier",
    "heron", "indigo", "juniper", "kestrel", "linden", "magnolia", "nimbus", "oasis", "pennine",
]
AB_KINDS = ["Accreditation Service", "Accreditation Board", "Accreditation Council",
            "National Accreditation Body", "Accreditation Authority"]
COUNTRIES = ["GB", "DE", "FR", "ES", "IT", "NL", "US", "ZA", "AU", "CN", "JP", "IN", "IE", "SE",
             "DK", "PL", "BR", "CA", "MX", "NZ"]
LEGAL_FORMS = {"GB": ["Ltd", "Limited", "LLP"], "DE": ["GmbH", "AG", "GmbH & Co. KG"],
               "FR": ["SAS", "SARL", "SA"], "ES": ["S.L.", "S.A."], "IT": ["S.r.l.", "S.p.A."],
               "NL": ["B.V.", "N.V."], "US": ["Inc.", "LLC", "Corp."],
               "ZA": ["(Pty) Ltd"], "AU": ["Pty Ltd"], "CN": ["Co., Ltd."], "JP": ["K.K."],
               "IN": ["Pvt Ltd"], "IE": ["Ltd", "DAC"], "SE": ["AB"], "DK": ["A/S", "ApS"],
               "PL": ["Sp. z o.o."], "BR": ["Ltda."], "CA": ["Inc.", "Ltd."], "MX": ["S.A. de C.V."],
               "NZ": ["Limited"]}
CITIES = {"GB": ["London", "Manchester", "Birmingham", "Leeds", "Glasgow", "Bristol", "Sheffield",
                 "Aberdeen", "Cardiff", "Norwich", "Derby", "Teddington"],
          "DE": ["Berlin", "Hamburg", "München", "Köln", "Stuttgart", "Braunschweig", "Dresden"],
          "FR": ["Paris", "Lyon", "Toulouse", "Marseille", "Nantes", "Lille"],
          "ES": ["Madrid", "Barcelona", "Valencia", "Bilbao", "Sevilla"],
          "IT": ["Milano", "Torino", "Roma", "Bologna", "Napoli"],
          "NL": ["Amsterdam", "Rotterdam", "Delft", "Eindhoven", "Utrecht"],
          "US": ["Houston", "Chicago", "Denver", "Atlanta", "Seattle", "Boston", "Phoenix"],
          "ZA": ["Johannesburg", "Cape Town", "Durban", "Pretoria"],
          "AU": ["Sydney", "Melbourne", "Perth", "Brisbane"],
          "CN": ["Shanghai", "Shenzhen", "Beijing", "Suzhou"],
          "JP": ["Tokyo", "Osaka", "Nagoya", "Yokohama"],
          "IN": ["Mumbai", "Pune", "Chennai", "Bengaluru"], "IE": ["Dublin", "Cork", "Galway"],
          "SE": ["Stockholm", "Göteborg", "Malmö"], "DK": ["København", "Aarhus", "Odense"],
          "PL": ["Warszawa", "Kraków", "Gdańsk"], "BR": ["São Paulo", "Curitiba", "Campinas"],
          "CA": ["Toronto", "Calgary", "Montréal"], "MX": ["Monterrey", "Querétaro"],
          "NZ": ["Auckland", "Christchurch"]}
STREETS = ["Mill Lane", "Station Road", "Industrial Estate", "Science Park", "Harbour Way",
           "Church Street", "Enterprise Drive", "Technology Park", "Bridge Road", "Quarry Lane"]
NAME_PREFIX = ["Northfield", "Apex", "Precision", "Summit", "Meridian", "Kestrel", "Harbour",
               "Crown", "Pinnacle", "Vector", "Sterling", "Orbit", "Granite", "Beacon", "Falcon",
               "Atlas", "Horizon", "Riverside", "Eastgate", "Westbury", "Acme", "Phoenix", "Zenith",
               "Cobalt", "Quantum", "Sentinel", "Trident", "Unity", "Vertex", "Keystone"]
NAME_CORE = {
    "testing": ["Materials Testing", "Analytical Services", "Environmental Laboratories",
                "Water Testing", "Food Laboratories", "Asbestos Laboratories", "Geotechnical",
                "Chemical Analysis", "Test House", "Scientific Services"],
    "calibration": ["Calibration", "Metrology", "Calibration Services", "Measurement",
                    "Instrument Calibration", "Pressure & Temperature Calibration"],
    "inspection": ["Inspection", "Engineering Inspection", "Inspection Services",
                   "Asset Integrity", "NDT Services", "Lift & Crane Inspection"],
    "ms_certification": ["Certification", "Assurance", "Quality Certification",
                         "Management Systems Certification", "Registrar"],
    "person_certification": ["Personnel Certification", "Skills Certification",
                             "Qualifications", "Competence Certification"],
}
FIRST_NAMES = ["Sam", "Alex", "Jo", "Priya", "Ahmed", "Maria", "Chen", "Olu", "Anna", "Tom",
               "Fatima", "Luca", "Ines", "Kenji", "Sofia", "Noah"]
LAST_NAMES = ["Smith", "Patel", "García", "Müller", "Rossi", "Dubois", "Kowalski", "Nguyen",
              "Okafor", "Jensen", "Tanaka", "Silva", "Brown", "Murphy"]

# Scope content per scope type, most frequent first (picked with Zipf-like weights).
TESTING = {
    "Environmental": (["Soils", "Groundwater", "Ambient air", "Bulk building materials",
                       "Waste water", "Surface water", "Contaminated land"],
                      ["Asbestos identification", "Asbestos surveys", "Asbestos air monitoring "
                       "(fibre counting)", "Metals by ICP-MS", "PAH by GC-MS", "pH",
                       "Total petroleum hydrocarbons", "Volatile organic compounds"],
                      ["HSG248", "ISO 22262-1:2012", "ISO 11885:2007", "In-house method ENV-07",
                       "EPA 8270D", "BS EN ISO 10523:2012"]),
    "Chemical": (["Drinking water", "Foodstuffs", "Pharmaceuticals", "Fuels", "Plastics",
                  "Cosmetics", "Animal feed"],
                 ["Lead", "Nitrate", "Moisture content", "Sulphur content", "Pesticide residues",
                  "Heavy metals", "Fat content", "Assay by HPLC"],
                 ["ISO 17294-2:2016", "In-house method CH-12", "ASTM D5453-19",
                  "EN 15662:2018", "BS EN ISO 10304-1:2009"]),
    "Mechanical": (["Metallic materials", "Steel reinforcing bar", "Plastics", "Fasteners",
                    "Welded joints", "Concrete cubes"],
                   ["Tensile strength", "Hardness (Brinell, Rockwell, Vickers)",
                    "Impact (Charpy)", "Bend test", "Compressive strength", "Fatigue"],
                   ["BS EN ISO 6892-1:2019", "ASTM E18-22", "ISO 148-1:2016", "ASTM D638-14",
                    "BS EN 12390-3:2019", "ISO 5173:2023"]),
    "Construction Materials": (["Aggregates", "Concrete", "Asphalt", "Soils for construction",
                                "Masonry units"],
                               ["Particle size distribution", "Compressive strength",
                                "Density", "Slump", "Flakiness index"],
                               ["BS EN 933-1:2012", "BS EN 12350-2:2019", "BS 1377-2:2022",
                                "ASTM C136-19"]),
    "Biological": (["Drinking water", "Foodstuffs", "Swabs", "Pharmaceutical water",
                    "Cooling tower water"],
                   ["Legionella", "E. coli and coliforms", "Salmonella", "Listeria",
                    "Total viable count"],
                   ["ISO 11731:2017", "ISO 9308-1:2014", "ISO 6579-1:2017", "ISO 11290-1:2017"]),
    "Electrical": (["Household appliances", "Luminaires", "Cables", "Medical electrical "
                    "equipment", "Batteries"],
                   ["Electrical safety", "EMC emissions", "EMC immunity", "Insulation resistance"],
                   ["IEC 60335-1:2020", "EN 55032:2015", "IEC 61000-4-2:2008",
                    "IEC 60601-1:2005"]),
    "Nondestructive": (["Welds", "Castings", "Forgings", "Pressure equipment", "Pipelines"],
                       ["Ultrasonic testing", "Radiographic testing", "Magnetic particle testing",
                        "Penetrant testing", "Eddy current testing"],
                       ["BS EN ISO 17640:2018", "BS EN ISO 17636-1:2022",
                        "BS EN ISO 17638:2016", "ASME V Article 4"]),
    "Acoustics and Vibration": (["Buildings", "Machinery", "Vehicles"],
                                ["Sound insulation", "Sound power", "Vibration"],
                                ["ISO 16283-1:2014", "ISO 3744:2010", "ISO 20816-1:2016"]),
    "Thermal": (["Insulation materials", "Building products"],
                ["Thermal conductivity", "Reaction to fire"],
                ["ISO 8301:1991", "EN 13823:2020"]),
}
CALIBRATION = {  # discipline code -> instruments, remarks
    "PRES": ["Pressure gauges", "Pressure transducers", "Digital pressure indicators",
             "Deadweight testers", "Barometers", "Vacuum gauges"],
    "TEMP": ["Platinum resistance thermometers", "Thermocouples", "Digital thermometers",
             "Climatic chambers", "Liquid-in-glass thermometers", "Infrared thermometers"],
    "DIM": ["Gauge blocks", "Micrometers", "Vernier calipers", "Dial gauges", "Ring gauges",
            "Coordinate measuring machines", "Steel rules", "Tape measures"],
    "MASS": ["Weights class E2", "Weights class F1", "Weights class M1",
             "Non-automatic weighing instruments", "Balances"],
    "VOLT": ["DC voltage", "AC voltage", "Multimeters", "Multifunction calibrators"],
    "CURR": ["DC current", "AC current", "Current clamps", "Multimeters"],
    "RES": ["Standard resistors", "Insulation testers", "Resistance meters"],
    "TIME": ["Frequency counters", "Stopwatches", "Oscillators", "Tachometers"],
    "FORCE": ["Force proving instruments", "Tensile testing machines", "Load cells",
              "Hardness testing machines"],
    "TORQ": ["Torque wrenches", "Torque transducers", "Torque screwdrivers"],
    "HUM": ["Hygrometers", "Dew-point meters", "Temperature and humidity data loggers"],
    "VOL": ["Piston pipettes", "Volumetric glassware", "Flow meters", "Burettes"],
}
CAL_REMARKS = ["Comparison with reference standard", "Direct measurement", "In-house method CP-12",
               "EURAMET cg-18", "DKD-R 6-1", "On-site calibration", None, None]
INSPECTION = {  # field name -> ranges, methods
    "Pressure systems": (["Pressure equipment up to 300 bar", "Steam boilers and pressure "
                          "vessels", "Pressure equipment (PSSR 2000) in-service examination",
                          "Gas cylinders"],
                         ["Written schemes of examination", "PSSR 2000 and SAFed PSG guidance",
                          "BS EN 13445-5:2021"]),
    "Lifting equipment": (["Cranes up to 100 t", "Lifting accessories", "Passenger lifts",
                           "Mobile elevating work platforms"],
                          ["LOLER 1998 thorough examination", "BS 7121-2:2012",
                           "SAFed LG1 guidelines"]),
    "Asbestos surveys": (["Management surveys of premises", "Refurbishment and demolition "
                          "surveys", "Asbestos surveys of domestic premises"],
                         ["HSG264 asbestos survey guide", "In-house procedure AS-01"]),
    "Non-destructive testing inspection": (["Welded joints, NDT level 2 personnel (ISO 9712)",
                                            "Pipelines, NDT level 2 and level 3",
                                            "Pressure equipment welds, NDT level 2"],
                                           ["BS EN ISO 17635:2016", "BS EN ISO 5817:2023"]),
    "Electrical installations": (["Low-voltage installations", "Hazardous area installations"],
                                 ["BS 7671:2018", "IEC 60079-17:2023"]),
    "Gas installations": (["Domestic gas appliances", "Commercial gas installations"],
                          ["Gas Safety (Installation and Use) Regulations 1998"]),
    "Road vehicles": (["Passenger cars", "Heavy goods vehicles", "Tachographs"],
                      ["Vehicle inspection manual", "ECE R43"]),
    "Food premises hygiene": (["Food processing premises", "Catering premises"],
                              ["BRC guidance", "In-house procedure FH-03"]),
    "Fire protection systems": (["Sprinkler systems", "Fire detection and alarm systems"],
                                ["BS EN 12845:2015", "BS 5839-1:2017"]),
    "Welding": (["Welded steel structures", "Welding procedure qualification"],
                ["ISO 15614-1:2017", "EN 1090-2:2018"]),
}
IB_STAGES = ["In-service / periodic", "Initial", "Product", "Design", "Type", "Process"]
MS_STANDARDS = [("ISO 9001:2015", True), ("ISO 14001:2015", True), ("ISO 45001:2018", True),
                ("ISO/IEC 27001:2022", False), ("ISO 50001:2018", False),
                ("ISO 37001:2016", False)]
# IAF codes by frequency on real schedules: construction, engineering, metals and services first
IAF_FREQ = ["28", "34", "17", "19", "18", "35", "29", "33", "12", "14", "31", "3", "39", "22",
            "23", "32", "2", "16", "15", "4", "9", "7", "24", "25", "27", "30", "37", "38", "1",
            "6", "10", "20", "26", "36", "8", "5", "21", "13", "11"]
NACE = {"28": ["41", "42", "43", "43.2", "43.3"], "34": ["71.1", "71.2"], "17": ["25.1", "25.6"],
        "19": ["27.1", "26.5"]}
SCHEMES = [("NDT personnel level 2", "ISO 9712:2021", "Level 1, Level 2, Level 3"),
           ("Welding inspector", "ISO 14731:2019", "Visual welding inspector, Welding inspector"),
           ("Asbestos surveyor", "HSG264 scheme", "Surveyor, Senior surveyor"),
           ("Energy auditor", "ISO 50002:2014", None),
           ("Information security auditor", "ISO/IEC 27006:2015", "Auditor, Lead auditor"),
           ("Crane operator", "CPCS scheme rules", "Trained operator, Competent operator"),
           ("Food safety auditor", "GFSI benchmarking requirements", None),
           ("Data protection officer", "ISO/IEC 17024 scheme DPO-2020", None)]
SCHEME_OWNERS = ["The Welding Institute", "British Institute of NDT", "Energy Institute",
                 "Personnel Certification Scheme Owners' Association", "In-house scheme"]

PROGRAMME_MIX = [("17025-T", 40), ("17025-C", 20), ("17020", 15), ("17021-1", 15), ("17024", 10)]
SCOPE_TYPE = {"17025-T": "testing", "17025-C": "calibration", "17020": "inspection",
              "17021-1": "ms_certification", "17024": "person_certification"}
LINE_WEIGHT = {"testing": 1.2, "calibration": 1.3, "inspection": 0.6, "ms_certification": 0.25,
               "person_certification": 0.15}
# Status mix (accreditations): mostly accredited; old withdrawals are gone from the directory.
STATUS_MIX = [("accredited", 82), ("partially_suspended", 4), ("suspended", 3), ("inactive", 2),
              ("withdrawn", 3), ("voluntarily_withdrawn", 1), ("withdrawn_old", 5)]
FORCED_STATUSES = [s for s, _w in STATUS_MIX]  # the first bench tenant has one of each first


_CUM: dict[tuple[int, float], list[float]] = {}


def pick(rng: random.Random, seq: list, s: float = 1.07):
    """One item, the r-th most frequent with weight 1 / r**s (Zipf-like)."""
    cum = _CUM.get((len(seq), s))
    if cum is None:
        cum = _CUM[(len(seq), s)] = list(itertools.accumulate(
            1 / (r + 1) ** s for r in range(len(seq))))
    return seq[bisect.bisect(cum, rng.random() * cum[-1])]


# -- accreditation number styles (per AB, realistic) -------------------------------------------

_PREFIX = {
    "sanas": {"testing": "T", "calibration": "C", "inspection": "I", "ms_certification": "M",
              "person_certification": "P"},
    "dakks": {"testing": "PL", "calibration": "K", "inspection": "IS",
              "ms_certification": "ZM", "person_certification": "ZP"},
    "cofrac": {"testing": "1", "calibration": "2", "inspection": "3", "ms_certification": "4",
               "person_certification": "4"},
    "enac": {"testing": "LE", "calibration": "LC", "inspection": "OC-I",
             "ms_certification": "C-SG", "person_certification": "C-PE"},
    "ias": {"testing": "TL", "calibration": "CL", "inspection": "IA",
            "ms_certification": "MSCB", "person_certification": "PCB"},
    "cnas": {"testing": "L", "calibration": "L", "inspection": "IB", "ms_certification": "C",
             "person_certification": "P"},
}
# Styles 0 and 1 are both plain numbers (as UKAS and NATA use), so the shared numbers of the
# first two bench tenants look natural there.
STYLES = ["plain", "plain5", "a2la", "dakks", "cofrac", "sanas", "enac", "ias", "cnas"]


def number_for(style: str, scope_type: str, seq: int, org: int, k: int) -> str:
    if style == "plain":
        return f"{seq:04d}"
    if style == "plain5":
        return f"{seq:05d}"
    if style == "a2la":
        return f"{org}.{k:02d}"
    p = _PREFIX[style][scope_type]
    if style == "dakks":
        return f"D-{p}-{seq:05d}-{k:02d}-00"
    if style == "cofrac":
        return f"{p}-{seq:04d}"
    if style == "sanas":
        return f"{p}{seq:04d}"
    if style == "enac":
        return f"{seq}/{p}{org}"
    if style == "ias":
        return f"{p}-{seq}"
    return f"CNAS {p}{seq:04d}"  # cnas


# -- the plan: what every tenant gets, decided before any row is written ------------------------


@dataclass
class TenantPlan:
    index: int
    slug: str
    name: str
    country: str
    style: str
    n_accs: int
    first_acc: int  # global index of its first accreditation
    seq_start: int


@dataclass
class Plan:
    seed: int
    today: date
    tenants: list[TenantPlan]
    lines: list[int]  # lines per accreditation, global order
    designated: int | None  # global index of the 2,000-line accreditation
    total_lines: int = 0
    shared: list[str] = field(default_factory=list)


def make_plan(*, tenants: int, accreditations: int, scope_lines: int, seed: int,
              today: date) -> Plan:
    """Tenant sizes (Zipf-like: a few large ABs, many small) and lines per accreditation
    (log-normal: many small scopes, some large; total exactly ``scope_lines``; one of exactly
    2,000 when the total allows it)."""
    if tenants < 1 or accreditations < tenants or scope_lines < accreditations:
        raise click.UsageError("Need at least one accreditation per tenant and one line per "
                               "accreditation.")
    rng = random.Random(f"{seed}:plan")
    weights = [1 / (i + 1) ** 0.6 for i in range(tenants)]
    total_w = sum(weights)
    sizes = [max(1, int(accreditations * w / total_w)) for w in weights]
    i = 0
    while sum(sizes) != accreditations:  # exact total, largest first
        step = 1 if sum(sizes) < accreditations else -1
        if step > 0 or sizes[i % tenants] > 1:
            sizes[i % tenants] += step
        i += 1
    words = list(AB_WORDS)
    plans, first = [], 0
    for t in range(tenants):
        word = words[t % len(words)] + ("" if t < len(words) else str(t // len(words) + 1))
        country = COUNTRIES[t % len(COUNTRIES)]
        plans.append(TenantPlan(
            index=t, slug=f"{SLUG_PREFIX}{word}",
            name=f"{word.title()} {AB_KINDS[t % len(AB_KINDS)]}", country=country,
            style=STYLES[t % len(STYLES)], n_accs=sizes[t], first_acc=first,
            seq_start=100 + first))
        first += sizes[t]
    # Lines: each accreditation at least one; the designated one exactly 2,000.
    n = accreditations
    designated = None
    if scope_lines >= DESIGNATED_LINES + (n - 1) and n > 1:
        designated = min(len(FORCED_STATUSES), plans[0].n_accs - 1)
    raw = [min(rng.lognormvariate(0, 1.25), 60.0) for _ in range(n)]
    lines = [1] * n
    fixed = DESIGNATED_LINES if designated is not None else 0
    rest = scope_lines - fixed - (n - (1 if designated is not None else 0))
    others = [j for j in range(n) if j != designated]
    w_sum = sum(raw[j] for j in others)
    for j in others:
        lines[j] += int(rest * raw[j] / w_sum)
    leftover = scope_lines - fixed - sum(lines[j] for j in others)
    cap = DESIGNATED_LINES - 1
    while leftover > 0:
        j = others[rng.randrange(len(others))]
        if lines[j] < cap:
            lines[j] += 1
            leftover -= 1
    for j in others:  # nobody else reaches the designated size
        while lines[j] > cap:
            k = others[rng.randrange(len(others))]
            if lines[k] < cap:
                lines[j] -= 1
                lines[k] += 1
    if designated is not None:
        lines[designated] = DESIGNATED_LINES
    return Plan(seed=seed, today=today, tenants=plans, lines=lines, designated=designated,
                total_lines=scope_lines)


# -- generating one tenant's rows --------------------------------------------------------------


@dataclass
class Ids:
    """Next primary key per table (explicit ids: children reference parents without reading
    them back)."""

    next: dict[str, int]

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


@dataclass
class Refs:
    """What the rows point at: programmes and current editions by code, term names."""

    programme: dict[str, tuple[int, int, str, str, str, bool]]  # code -> ids, name, standard…
    term_name: dict[tuple[str, str], str]
    testing_codes: dict[str, str]  # field name -> code
    inspection_codes: dict[str, str]
    stage_codes: dict[str, str]
    units: dict[str, list[str]]


@dataclass
class TenantRows:
    rows: dict[str, list[dict]] = field(default_factory=dict)
    accs: list[dict] = field(default_factory=list)  # summary of what was made (reports, tests)

    def add(self, table: str, row: dict) -> None:
        self.rows.setdefault(table, []).append(row)


def _days(rng, lo: int, hi: int) -> int:
    return rng.randint(lo, max(lo, hi))


def _address(rng, country: str) -> str:
    city = rng.choice(CITIES[country])
    return f"{rng.randint(1, 240)} {rng.choice(STREETS)}, {city}"


def _decimal(value: float) -> str:
    text = f"{value:.6g}"
    return text if "e" not in text else f"{value:.6f}".rstrip("0").rstrip(".")


def _line_fields(rng, scope_type: str, refs: Refs, loc_codes: list[str], i: int) -> dict:
    if scope_type == "calibration":
        disc = pick(rng, list(CALIBRATION))
        units = refs.units[disc]
        lo = rng.choice([0, 0, 0.1, 1, 10])
        hi = lo + rng.choice([1, 10, 100, 700, 1000, 2000])
        fields = {"discipline": disc, "quantity": pick(rng, CALIBRATION[disc]),
                  "range_min": _decimal(lo), "range_max": _decimal(hi),
                  "range_unit": pick(rng, units),
                  "cmc": _decimal(round(rng.uniform(0.001, 2), 4) or 0.001),
                  "cmc_unit": rng.choice([*units[:3], "%", "ppm"]),
                  "location": rng.choice(loc_codes)}
        if rng.random() < 0.1:
            fields["cmc_term"] = f"+ {rng.choice([0.1, 0.25, 0.5, 1])}L"
        remarks = rng.choice(CAL_REMARKS)
        if remarks:
            fields["remarks"] = remarks
        return fields
    if scope_type == "testing":
        name = pick(rng, list(TESTING), 0.9)
        products, tests, methods = TESTING[name]
        fields = {"field": refs.testing_codes[name], "product": pick(rng, products),
                  "test": pick(rng, tests), "method": pick(rng, methods),
                  "location": rng.choice([*loc_codes, "P", "O"] if rng.random() < 0.2
                                         else loc_codes)}
        if rng.random() < 0.3:
            fields["range"] = rng.choice(["0.01 to 100 mg/l", "up to 1000 kN", "≥ 0.1 %",
                                          "5 to 95 %", "up to 600 °C"])
        return fields
    if scope_type == "inspection":
        name = pick(rng, list(INSPECTION), 0.9)
        ranges, methods = INSPECTION[name]
        stages = [refs.stage_codes[s] for s in
                  sorted({pick(rng, IB_STAGES) for _ in range(rng.randint(1, 2))},
                         key=IB_STAGES.index)]
        fields = {"field": refs.inspection_codes[name], "stage": stages,
                  "range": pick(rng, ranges), "method": pick(rng, methods)}
        if rng.random() < 0.5:
            fields["location"] = rng.choice(loc_codes)
        return fields
    if scope_type == "ms_certification":
        standard, iaf = MS_STANDARDS[min(int(rng.paretovariate(1.4)) - 1, len(MS_STANDARDS) - 1)]
        fields = {"standard": standard}
        if iaf:
            code = pick(rng, IAF_FREQ, 1.0)
            fields["iaf_codes"] = [code]
            if code in NACE and rng.random() < 0.3:
                fields["nace"] = rng.choice(NACE[code])
        return fields
    scheme, doc, levels = pick(rng, SCHEMES, 0.9)
    fields = {"scheme": scheme, "scheme_owner": rng.choice(SCHEME_OWNERS),
              "normative_document": doc}
    if levels:
        fields["levels"] = levels
    if rng.random() < 0.3:
        fields["exam_sites"] = f"{rng.randint(1, 12)} examination centres"
    return fields


def generate_tenant(plan: Plan, tp: TenantPlan, tenant_id: int, refs: Refs, ids: Ids,
                    shared_from: list[str] | None = None) -> TenantRows:
    """Every row of one bench tenant (deterministic for the plan, the tenant and the ids)."""
    from accreditor.directory import services as directory
    from accreditor.refdata.models import ScopeType
    from accreditor.scopes.schemas import SCHEMAS, summary

    rng = random.Random(f"{plan.seed}:tenant:{tp.index}")
    today = plan.today
    now = datetime(today.year, today.month, today.day, 6, 0, tzinfo=UTC)
    out = TenantRows()
    term = refs.term_name

    def term_names(kind, code):
        return term.get((str(kind), code), code)

    schema_names = {st: [f.name for f in SCHEMAS[ScopeType(st)]] for st in LINE_WEIGHT}
    shared = list(shared_from or [])
    seq = tp.seq_start
    made = 0
    org = 1000 + tp.first_acc
    while made < tp.n_accs:
        # One CAB: one to three programmes (one accreditation each).
        country = tp.country if rng.random() < 0.7 else rng.choice(COUNTRIES)
        n_progs = min(tp.n_accs - made, rng.choices([1, 2, 3], weights=[80, 17, 3])[0])
        d = None if plan.designated is None or tp.index != 0 else plan.designated - made
        if d is not None and 0 < d < n_progs:
            n_progs = d  # the 2,000-line accreditation starts a CAB of its own
        codes = []
        while len(codes) < n_progs:
            code = rng.choices([c for c, _ in PROGRAMME_MIX],
                               weights=[w for _, w in PROGRAMME_MIX])[0]
            if code not in codes:
                codes.append(code)
        if d == 0:
            codes = ["17025-C"]
        main_type = SCOPE_TYPE[codes[0]]
        legal = (f"{rng.choice(NAME_PREFIX)} {pick(rng, NAME_CORE[main_type], 0.8)} "
                 f"{rng.choice(LEGAL_FORMS[country])}")
        trading = [f"{legal.split()[0]} {rng.choice(['Labs', 'Cal', 'Group', 'Services'])}"] \
            if rng.random() < 0.25 else []
        cab_id = ids.take("cabs")
        org += 1
        website = (f"https://www.{legal.split()[0].lower()}{org}.example"
                   if rng.random() < 0.6 else None)
        out.add("cabs", {"id": cab_id, "tenant_id": tenant_id, "legal_name": legal,
                         "trading_names": trading, "registration_number": f"RN{org:07d}",
                         "country": country, "website": website, "org_number": org,
                         "created_at": now, "updated_at": now})
        locations = []
        for j in range(rng.choices([1, 2, 3], weights=[55, 35, 10])[0]):
            code = "ABC"[j]
            loc = {"code": code, "name": "Head office" if j == 0 else
                   rng.choice(["Laboratory", "Site office", "Regional branch", "Workshop"]),
                   "address": _address(rng, country), "country": country,
                   "kind": "permanent" if j == 0 else rng.choice(["permanent", "site"])}
            locations.append(loc)
            out.add("cab_locations", {"id": ids.take("cab_locations"), "tenant_id": tenant_id,
                                      "cab_id": cab_id, **loc, "is_critical": False,
                                      "is_active": True})
        contacts = []
        if rng.random() < 0.5:
            person = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            contact = {"name": person, "position": rng.choice(["Quality manager",
                                                              "Technical manager", "Director"]),
                       "email": f"quality@cab{org}.example", "phone": f"+{rng.randint(10**9, 10**10)}"}
            contacts.append(contact)
            out.add("cab_contacts", {"id": ids.take("cab_contacts"), "tenant_id": tenant_id,
                                     "cab_id": cab_id, **contact, "is_public": True})
        loc_codes = [loc["code"] for loc in locations]
        for k, code in enumerate(codes, start=1):
            glob, local = tp.first_acc + made, made
            made += 1
            designated = glob == plan.designated
            _accreditation(
                out, rng, plan, tp, refs, ids, tenant_id, cab_id, code, k, seq, org,
                country, legal, trading, website, locations, contacts, loc_codes,
                plan.lines[glob], designated, local, shared, now, term_names, schema_names,
                summary, directory)
            seq += 1
    return out


def _status_for(rng, tp: TenantPlan, local: int, designated: bool) -> str:
    if designated:
        return "accredited"
    if tp.index == 0 and local < len(FORCED_STATUSES):
        return FORCED_STATUSES[local]
    return rng.choices([s for s, _ in STATUS_MIX], weights=[w for _, w in STATUS_MIX])[0]


def _accreditation(out, rng, plan, tp, refs, ids, tenant_id, cab_id, code, k, seq, org, country,
                   legal, trading, website, locations, contacts, loc_codes, n_lines, designated,
                   local, shared, now, term_names, schema_names, summary, directory) -> None:
    today = plan.today
    scope_type = SCOPE_TYPE[code]
    prog_id, edition_id, prog_name, standard, edition, needs_ib = refs.programme[code]
    status = _status_for(rng, tp, local, designated)
    ended = status in ("withdrawn", "voluntarily_withdrawn", "withdrawn_old")
    public_status = "withdrawn" if status == "withdrawn_old" else status
    number = number_for(tp.style, scope_type, seq, org, k)
    if shared and status == "accredited" and not designated:
        number = shared.pop(0)  # the same number as at the first bench tenant: "which AB?"
    # Dates: the grant, an optional extension, then the event that set the status.
    if status == "withdrawn_old":
        end_on = today - timedelta(days=_days(rng, 400, 1100))  # > 13 months ago
    elif ended:
        end_on = today - timedelta(days=_days(rng, 5, 330))  # within the 12-month retention
    elif status in ("partially_suspended", "suspended"):
        # within the policy's maximum (3 months by default): max_end_on still ahead
        end_on = today - timedelta(days=_days(rng, 3, SUSPENDED_DAYS_MAX))
    elif status == "inactive":
        end_on = today - timedelta(days=_days(rng, 10, 300))
    else:
        end_on = today
    granted = end_on - timedelta(days=_days(rng, 200, 6500))
    extended = None
    if n_lines >= 3 and rng.random() < 0.2 and (end_on - granted).days > 120:
        extended = granted + timedelta(days=_days(rng, 60, (end_on - granted).days - 30))
    suspended_first = ended and rng.random() < 0.4
    suspend_on = None
    if status in ("partially_suspended", "suspended"):
        suspend_on = end_on
    elif suspended_first:
        suspend_on = end_on - timedelta(days=_days(rng, 30, SUSPENDED_DAYS_MAX))
        if suspend_on <= (extended or granted):
            suspend_on = None
    # Which lines: the extension grants the last fifth; a partial suspension a random share.
    first_ext = n_lines - max(1, n_lines // 5) if extended else n_lines
    if status == "partially_suspended" and n_lines == 1:
        status = public_status = "suspended"
    if status == "partially_suspended":
        chosen = set(rng.sample(range(n_lines), max(1, min(n_lines - 1,
                                                            int(n_lines * rng.uniform(.1, .5))))))
    elif status == "suspended" or suspend_on is not None:
        chosen = set(range(n_lines))
    else:
        chosen = set()
    sanction = rng.choice(["imposed", "imposed", "voluntary", "financial"]) if suspend_on else None
    # One reassessment per elapsed five-year cycle, each with a new schedule issue (while
    # accredited: before any suspension or ending).
    renewals = []
    cycle_start = granted
    limit = suspend_on or end_on
    while granted + relativedelta(years=5 * (len(renewals) + 1)) <= limit:
        renewals.append(granted + relativedelta(years=5 * (len(renewals) + 1)))
    if renewals:
        cycle_start = renewals[-1]
    acc_id = ids.take("accreditations")
    out.add("accreditations", {
        "id": acc_id, "tenant_id": tenant_id, "cab_id": cab_id, "programme_id": prog_id,
        "edition_id": edition_id, "number": number, "status": public_status,
        "ib_type": rng.choice("AAABC") if needs_ib else None,
        "initial_grant_on": granted, "cycle_start_on": cycle_start,
        "cycle_end_on": cycle_start + relativedelta(years=5), "expiry_on": None,
        "created_at": now, "updated_at": now})
    ib_type = out.rows["accreditations"][-1]["ib_type"]

    # Decisions and schedule issues, in date order.
    versions: list[dict] = []

    def decide(kind, on, issue_status, **extra) -> int:
        dec_id = ids.take("decisions")
        issue_no = len(versions) + 1
        at = datetime(on.year, on.month, on.day, 9, 0, tzinfo=UTC)  # decided when effective
        out.add("decisions", {
            "id": dec_id, "tenant_id": tenant_id, "cab_id": cab_id, "accreditation_id": acc_id,
            "kind": kind, "rationale": "Bench data.", "effective_on": on,
            "decided_at": at, "created_at": at, "location_codes": [],
            "schedule_issue": issue_no, "light_path": False,
            "suspension_type": extra.get("suspension_type"), "extent": extra.get("extent"),
            "max_end_on": extra.get("max_end_on")})
        version = {"id": ids.take("schedule_versions"), "tenant_id": tenant_id,
                   "cab_id": cab_id, "accreditation_id": acc_id, "issue_no": issue_no,
                   "issued_on": on, "decision_id": dec_id, "status": issue_status,
                   "lines": [], "details": {}, "created_at": now}
        versions.append({**version, "kind": kind, "suspension_type": extra.get("suspension_type")})
        out.add("schedule_versions", version)
        return dec_id

    grant_dec = decide("grant", granted, "accredited")
    ext_dec = None
    for on in sorted([*renewals, *([extended] if extended else [])]):
        if on == extended and ext_dec is None:
            ext_dec = decide("extend", extended, "accredited")
        else:
            decide("maintain", on, "accredited")  # the cycle's reassessment: schedule reissued
    susp_dec = None
    if suspend_on is not None:
        susp_dec = decide("suspend", suspend_on,
                          "partially_suspended" if status == "partially_suspended"
                          else "suspended",
                          suspension_type=sanction,
                          extent="partial" if status == "partially_suspended" else "full",
                          max_end_on=suspend_on + relativedelta(months=3))
    end_dec = None
    if status == "inactive":
        end_dec = decide("inactive", end_on, "inactive")
    elif ended:
        end_dec = decide("withdraw", end_on, public_status)

    # Scope items, their events, and the public lines.
    lines: list[dict] = []
    names = schema_names[scope_type]
    for i in range(n_lines):
        fields = _line_fields(rng, scope_type, refs, loc_codes, i)
        text = summary(scope_type, fields, term_names)
        if ended:
            line_status = "withdrawn"
        elif i in chosen:
            line_status = "suspended"
        else:
            line_status = "accredited"
        item_id = ids.take("scope_items")
        position = i + 1
        out.add("scope_items", {"id": item_id, "tenant_id": tenant_id, "cab_id": cab_id,
                                "accreditation_id": acc_id, "position": position,
                                "status": line_status, "fields": fields, "summary": text,
                                "created_at": now, "updated_at": now})
        grant_on, grant_by = ((extended, ext_dec) if i >= first_ext else (granted, grant_dec))
        events = [("applied", "accredited", grant_on,
                   "extension" if grant_by == ext_dec else "grant", grant_by)]
        if i in chosen:
            events.append(("accredited", "suspended", suspend_on, sanction, susp_dec))
        if ended:
            events.append((events[-1][1], "withdrawn", end_on, "withdrawal", end_dec))
        for frm, to, on, reason, dec in events:
            out.add("scope_events", {"id": ids.take("scope_events"), "tenant_id": tenant_id,
                                     "cab_id": cab_id, "accreditation_id": acc_id,
                                     "scope_item_id": item_id, "from_status": frm,
                                     "to_status": to, "effective_on": on, "reason_code": reason,
                                     "decision_id": dec, "created_at": now})
        lines.append({"position": position, "status": line_status, "summary": text,
                      "fields": {n: fields[n] for n in names if n in fields}})

    # The directory entry, as publish_outcome computes it.
    class _V:  # what directory.services._history reads of a version
        def __init__(self, v):
            self.issue_no, self.issued_on, self.status = v["issue_no"], v["issued_on"], v["status"]
            self.kind, self.suspension_type = v["kind"], v["suspension_type"]

    history = directory._history([_V(v) for v in versions], directory.PublicStatus(public_status),
                                 granted)
    status_since = history[-1]["occurred_on"]
    ended_on = status_since if ended else None
    header = {
        "cab_id": cab_id, "number": number, "legal_name": legal, "trading_names": list(trading),
        "country": country, "website": website, "locations": [dict(x) for x in locations],
        "contacts": [dict(c) for c in contacts], "programme_code": code,
        "programme_name": prog_name, "scope_type": scope_type, "standard": standard,
        "edition": edition, "ib_type": ib_type, "status": public_status,
        "status_since": status_since,
        "sanction_type": sanction if public_status in ("suspended", "partially_suspended")
        else None,
        "lines_total": len(lines),
        "lines_suspended": sum(1 for x in lines if x["status"] == "suspended"),
        "initial_grant_on": granted, "cycle_end_on": cycle_start + relativedelta(years=5),
        "expiry_on": None, "schedule_issue_no": versions[-1]["issue_no"],
        "schedule_issued_on": versions[-1]["issued_on"], "ended_on": ended_on,
        "visible_until": ended_on + relativedelta(months=RETENTION_MONTHS) if ended_on else None,
    }
    header["search_text"] = directory._search_text(header, lines)
    digest = directory._digest({**header, "events": history})
    lines_digest = directory._digest(lines)
    entry_id = ids.take("directory_entries")
    out.add("directory_entries", {"id": entry_id, "tenant_id": tenant_id,
                                  "accreditation_id": acc_id, **header, "digest": digest,
                                  "lines_digest": lines_digest, "published_at": now})
    for line in lines:
        out.add("directory_lines", {"id": ids.take("directory_lines"), "tenant_id": tenant_id,
                                    "entry_id": entry_id, **line})
    for ev in history:
        out.add("directory_events", {"id": ids.take("directory_events"), "tenant_id": tenant_id,
                                     "entry_id": entry_id, **ev})
    out.accs.append({"slug": tp.slug, "number": number, "legal_name": legal,
                     "status": status, "lines": n_lines, "accreditation_id": acc_id,
                     "granted": granted, "end_on": end_on, "designated": designated,
                     "scope_type": scope_type, "visible": status != "withdrawn_old"})


# -- writing -------------------------------------------------------------------------------------

# Parents first (foreign keys are checked row by row).
TABLE_ORDER = ["cabs", "cab_locations", "cab_contacts", "accreditations", "decisions",
               "schedule_versions", "scope_items", "scope_events", "directory_entries",
               "directory_lines", "directory_events"]
CHUNK = 20_000


class Writer:
    """COPY on PostgreSQL, executemany on SQLite, on the session's connection."""

    def __init__(self, connection):
        from sqlalchemy import MetaData

        self.conn = connection
        self.pg = connection.dialect.name == "postgresql"
        from accreditor.extensions import db

        self.tables = {name: db.metadata.tables[name] for name in TABLE_ORDER}
        self._meta = MetaData()

    def write(self, name: str, rows: list[dict]) -> None:
        if not rows:
            return
        table = self.tables[name]
        cols = list(rows[0])
        if self.pg:
            raw = self.conn.connection.dbapi_connection
            json_cols = {c for c in cols if table.c[c].type.__class__.__name__ == "JSON"}
            collist = ", ".join(f'"{c}"' for c in cols)
            with raw.cursor() as cur, cur.copy(f"COPY {name} ({collist}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([json.dumps(row[c]) if c in json_cols else row[c]
                                    for c in cols])
        else:
            for i in range(0, len(rows), CHUNK):
                self.conn.execute(table.insert(), rows[i:i + CHUNK])


def _next_ids(connection) -> Ids:
    from sqlalchemy import text

    sql = "SELECT max(id) FROM {}"  # table names from TABLE_ORDER, never from input
    return Ids({name: (connection.execute(text(sql.format(name))).scalar() or 0) + 1
                for name in TABLE_ORDER})


def _reserve_start(connection, ids: Ids) -> None:
    """PostgreSQL: lock the tables written (inserts by the live app wait for this tenant's
    commit) and start each table's ids past both its rows and its sequence, so that no id the
    sequence has handed out, or will hand out, is reused; the sequences are then set past the
    generated ids before the COPY (``_seed_tenant``)."""
    from sqlalchemy import text

    for name in TABLE_ORDER:  # table names from TABLE_ORDER, never from input
        connection.execute(text(f"LOCK TABLE {name} IN EXCLUSIVE MODE"))
        seq = connection.execute(text(
            f"SELECT pg_get_serial_sequence('{name}', 'id')")).scalar_one()
        last, called = connection.execute(text(
            f"SELECT last_value, is_called FROM {seq}")).one()  # noqa: S608
        top = connection.execute(text(f"SELECT max(id) FROM {name}")).scalar() or 0  # noqa: S608
        ids.next[name] = max(top, last if called else last - 1) + 1


def _refs() -> Refs:
    from sqlalchemy import select

    from accreditor.core.tenancy import ALL_TENANTS
    from accreditor.extensions import db
    from accreditor.refdata import seed
    from accreditor.refdata.models import Programme, RefTerm, StandardEdition
    from accreditor.refdata.services import _code

    programme = {}
    for code in SCOPE_TYPE:
        prog = db.session.execute(select(Programme).where(
            Programme.code == code, Programme.tenant_id.is_(None))
            .execution_options(**{ALL_TENANTS: True})).scalar_one()
        ed = db.session.execute(select(StandardEdition).where(
            StandardEdition.programme_id == prog.id, StandardEdition.tenant_id.is_(None),
            StandardEdition.is_current).execution_options(**{ALL_TENANTS: True})
            .order_by(StandardEdition.edition.desc())).scalars().first()
        programme[code] = (prog.id, ed.id, prog.name, prog.standard, ed.edition,
                           prog.needs_ib_type)
    term_name = {(t.kind, t.code): t.name for t in db.session.execute(select(RefTerm).where(
        RefTerm.tenant_id.is_(None)).execution_options(**{ALL_TENANTS: True})).scalars()}
    return Refs(programme=programme, term_name=term_name,
                testing_codes={n: _code(n) for n in seed.TESTING_FIELDS},
                inspection_codes={n: _code(n) for n in seed.INSPECTION_FIELDS},
                stage_codes={n: _code(n) for n in seed.INSPECTION_STAGES},
                units={c: u for c, _n, u in seed.CALIBRATION_DISCIPLINES})


@dataclass
class SeedReport:
    plan: Plan
    phases: dict[str, float]
    counts: dict[str, int]
    accs: list[dict]  # one summary per accreditation (slug, number, status, lines…)

    @property
    def designated(self) -> dict | None:
        return next((a for a in self.accs if a["designated"]), None)


class SeedRefused(click.ClickException):
    exit_code = 2


def _foreign_data(ours: list[str]) -> list[str]:
    """What the database holds that the bench did not make: other tenants, any user, CABs of
    other tenants, audit events other than the bench tenants' own ("tenant.created" and the
    like, recorded by ``create_tenant``)."""
    from sqlalchemy import func, or_, select

    from accreditor.auth.models import User
    from accreditor.cabs.models import Cab
    from accreditor.core.audit import AuditEvent
    from accreditor.core.tenancy import ALL_TENANTS
    from accreditor.extensions import db
    from accreditor.tenants.models import Tenant

    def count(stmt) -> int:
        return db.session.execute(stmt.execution_options(**{ALL_TENANTS: True})).scalar_one()

    bench_ids = select(Tenant.id).where(Tenant.slug.startswith(SLUG_PREFIX))
    found = []
    slugs = list(db.session.execute(select(Tenant.slug).order_by(Tenant.slug)).scalars())
    others = [s for s in slugs if not s.startswith(SLUG_PREFIX)]
    if others:
        found.append(f"{len(others)} tenant(s) that are not bench data "
                     f"({', '.join(others[:5])}{'…' if len(others) > 5 else ''})")
    users = count(select(func.count(User.id)))
    if users:
        found.append(f"{users} user(s)")
    cabs = count(select(func.count(Cab.id)).where(Cab.tenant_id.not_in(bench_ids)))
    if cabs:
        found.append(f"{cabs} CAB(s) of other tenants")
    bench_platform = (AuditEvent.tenant_id.is_(None) & (AuditEvent.object_type == "Tenant")
                      & AuditEvent.object_id.in_(
                          [str(i) for i in db.session.execute(bench_ids).scalars()] or ["-"]))
    events = count(select(func.count(AuditEvent.id)).where(
        or_(AuditEvent.tenant_id.is_(None), AuditEvent.tenant_id.not_in(bench_ids)),
        ~bench_platform))
    if events:
        found.append(f"{events} audit event(s) not made by the bench")
    return found


def check_database(*, force: bool, reset: bool, yes_drop: str | None = None) -> list[str]:
    """The bench tenants already there. Refuses (SeedRefused): a production configuration;
    data the bench did not make (tenants, users, CABs, audit events) without --force, and
    always with --reset; an existing bench seed without --reset; --reset without
    ``--yes-drop=<the database's name>``."""
    from flask import current_app
    from sqlalchemy import inspect, select

    from accreditor.extensions import db
    from accreditor.tenants.models import Tenant

    if str(current_app.config.get("ENV", "")).lower() == "production":
        raise SeedRefused("Refused: the app runs with the production configuration "
                          "(ENV=production). Seed bench data into a development database.")
    if not inspect(db.session.connection()).has_table("directory_entries"):
        raise SeedRefused("The database has no schema: run `flask db upgrade` first.")
    ours = list(db.session.execute(select(Tenant.slug).where(
        Tenant.slug.startswith(SLUG_PREFIX)).order_by(Tenant.slug)).scalars())
    foreign = _foreign_data(ours)
    if foreign and reset:
        raise SeedRefused(
            f"--reset drops Accreditor's tables, and the database holds {'; '.join(foreign)}: "
            "refused. Use a database of its own for the bench.")
    if foreign and not force:
        raise SeedRefused(
            f"The database holds {'; '.join(foreign)}: refusing to add bench data to it. Use "
            "an empty database, or --force (the bench tenants are then inactive: not public).")
    if ours and not reset:
        raise SeedRefused(
            f"The database already holds bench data ({len(ours)} bench tenants). Re-run with "
            "--reset --yes-drop=<database name> to drop Accreditor's tables and seed again.")
    if reset:
        name = database_name()
        if yes_drop != name:
            raise SeedRefused(
                f"--reset drops every Accreditor table of the database {name!r}: confirm with "
                f"--yes-drop={name}.")
    return ours


def database_name() -> str:
    from accreditor.extensions import db

    return db.engine.url.database or ""


# Tables the migrations create outside the models' metadata (the search index's full-text
# tables) and Alembic's own; dropped by name, never the schema.
EXTRA_TABLES = ("directory_fts_words", "directory_fts", "directory_search_counts",
                "directory_search_words", "directory_search_values", "directory_search",
                "alembic_version")


def reset_database() -> None:
    """Drop Accreditor's tables (the models' metadata, the search index's tables, Alembic's
    version) — nothing else of the database — and recreate them with the migrations."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from accreditor.core.db import commit
    from accreditor.extensions import db
    from accreditor.refdata.services import load_platform_refdata

    db.session.remove()
    engine = db.engine
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        for name in EXTRA_TABLES:  # names from this module, never from input
            if name not in db.metadata.tables:
                conn.execute(text(f"DROP TABLE IF EXISTS {name}{' CASCADE' if pg else ''}"))
    db.metadata.drop_all(engine)
    engine.dispose()
    upgrade()
    load_platform_refdata()
    commit()


def _seed_tenant(plan, tp, tenant_id, refs, ids, counts, accs, shared, timed, echo, pg):
    """Generate and write one tenant's rows (one transaction); returns the numbers the
    second tenant reuses."""
    from sqlalchemy import text

    from accreditor.core.db import commit
    from accreditor.extensions import db

    if pg:
        t0 = time.perf_counter()
        _reserve_start(db.session.connection(), ids)
        timed("sequences", t0)
    t0 = time.perf_counter()
    rows = generate_tenant(plan, tp, tenant_id, refs, ids,
                           shared_from=shared if tp.index == 1 else None)
    timed("generate rows (Python)", t0)
    if tp.index == 0:
        shared = [a["number"] for a in rows.accs
                  if a["status"] == "accredited" and not a["designated"]][:SHARED_NUMBERS]
    elif tp.index == 1:
        first = {a["number"] for a in accs}
        plan.shared = [a["number"] for a in rows.accs if a["number"] in first]
    t0 = time.perf_counter()
    connection = db.session.connection()
    if pg:
        connection.execute(text("SET LOCAL synchronous_commit = off"))
    if pg:  # the ids just generated are taken from the sequences before the COPY
        for name in TABLE_ORDER:
            connection.execute(text(  # table names from TABLE_ORDER, never from input
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), :last)"),
                {"last": ids.next[name] - 1})
    writer = Writer(connection)
    for name in TABLE_ORDER:
        batch = rows.rows.get(name, [])
        writer.write(name, batch)
        counts[name] += len(batch)
    commit()
    timed("write (COPY)" if pg else "write (executemany)", t0)
    accs += rows.accs
    echo(f"  {tp.slug}: {len(rows.accs):,} accreditations, "
         f"{sum(a['lines'] for a in rows.accs):,} lines")
    return shared


def seed(*, tenants: int, accreditations: int, scope_lines: int, seed: int = 1,
         today: date | None = None, force: bool = False, reset: bool = False,
         yes_drop: str | None = None, active: bool = False,
         echo=lambda msg: None) -> SeedReport:
    """Create the bench data (see the module docstring); returns what was made and how long
    each phase took."""
    from sqlalchemy import text

    from accreditor.core.db import commit
    from accreditor.directory import search
    from accreditor.extensions import db
    from accreditor.refdata.services import load_platform_refdata
    from accreditor.tenants.services import create_tenant

    phases: dict[str, float] = {}

    def timed(name, t0):
        phases[name] = phases.get(name, 0.0) + time.perf_counter() - t0

    t0 = time.perf_counter()
    plan = make_plan(tenants=tenants, accreditations=accreditations, scope_lines=scope_lines,
                     seed=seed, today=today or date.today())
    timed("plan", t0)
    if check_database(force=force, reset=reset, yes_drop=yes_drop):
        t0 = time.perf_counter()
        reset_database()
        timed("reset", t0)

    t0 = time.perf_counter()
    load_platform_refdata()
    created = []
    for tp in plan.tenants:
        tenant = create_tenant(slug=tp.slug, name=tp.name, country=tp.country)
        if force and not active:
            tenant.is_active = False  # beside real data, fake bodies never appear publicly
        created.append(tenant)
    commit()
    tenant_ids = [t.id for t in created]
    refs = _refs()
    timed("tenants (service)", t0)

    connection = db.session.connection()
    pg = connection.dialect.name == "postgresql"
    if pg:
        connection.execute(text("SET LOCAL synchronous_commit = off"))
    else:
        for pragma in ("cache_size = -262144",):  # 256 MiB of page cache; one txn per tenant
            connection.exec_driver_sql(f"PRAGMA {pragma}")
    ids = _next_ids(connection)
    counts = dict.fromkeys(TABLE_ORDER, 0)
    accs: list[dict] = []
    shared: list[str] = []
    gc.disable()  # millions of short-lived dicts and no cycles: collections only cost time
    try:
        for tp, tenant_id in zip(plan.tenants, tenant_ids, strict=True):
            shared = _seed_tenant(plan, tp, tenant_id, refs, ids, counts, accs, shared,
                                  timed, echo, pg)
    finally:
        gc.enable()

    t0 = time.perf_counter()
    indexed = search.rebuild_index()
    commit()
    timed(f"search.rebuild_index ({indexed:,} entries)", t0)
    t0 = time.perf_counter()
    db.session.connection().exec_driver_sql("ANALYZE")  # planner statistics, as autovacuum would
    commit()
    timed("ANALYZE", t0)
    return SeedReport(plan=plan, phases=phases, counts=counts, accs=accs)


def example_terms() -> list[str]:
    return ["ISO 9001", "IAF 28", "pressure gauges", "asbestos surveys", "NDT level 2",
            "calibration", "legionella", "torque wrenches", "pressure equipment"]


@bench_cli.command("seed")
@click.option("--tenants", default=50, show_default=True, type=click.IntRange(1, 500))
@click.option("--accreditations", default=100_000, show_default=True, type=click.IntRange(1))
@click.option("--scope-lines", default=2_000_000, show_default=True, type=click.IntRange(1))
@click.option("--seed", "seed_", default=1, show_default=True, type=int,
              help="Random seed: the same arguments give the same data.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The date the data is relative to (default: today).")
@click.option("--force", is_flag=True,
              help="Add to a database that holds other data (the bench tenants are then "
              "inactive, unless --active).")
@click.option("--active", is_flag=True, help="With --force: make the bench tenants active.")
@click.option("--reset", is_flag=True,
              help="Drop Accreditor's tables (never the schema), recreate them with the "
              "migrations and seed again; needs --yes-drop.")
@click.option("--yes-drop", default=None, metavar="DATABASE",
              help="With --reset: the database's name, to confirm the drop.")
def seed_command(tenants, accreditations, scope_lines, seed_, today, force, active, reset,
                 yes_drop):
    """Bench tenants, CABs, accreditations, scope history and the public directory, in bulk."""
    started = time.perf_counter()
    report = seed(tenants=tenants, accreditations=accreditations, scope_lines=scope_lines,
                  seed=seed_, today=today.date() if today else None, force=force, reset=reset,
                  yes_drop=yes_drop, active=active, echo=click.echo)
    total = time.perf_counter() - started
    click.echo("")
    click.echo("| phase | seconds |")
    click.echo("|---|---|")
    for name, seconds in report.phases.items():
        click.echo(f"| {name} | {seconds:.1f} |")
    click.echo(f"| **total** | **{total:.1f}** |")
    click.echo("")
    click.echo("rows: " + ", ".join(f"{k} {v:,}" for k, v in report.counts.items()))
    by_status: dict[str, int] = {}
    for a in report.accs:
        by_status[a["status"]] = by_status.get(a["status"], 0) + 1
    click.echo("statuses: " + ", ".join(f"{k} {v:,}" for k, v in sorted(by_status.items())))
    d = report.designated
    if d:
        click.echo(f"2,000-line entry: /{d['slug']}/directory/{d['number']} "
                   f"({d['legal_name']})")
    if report.plan.shared:
        click.echo(f"numbers used by two ABs: {', '.join(report.plan.shared)} "
                   f"({report.plan.tenants[0].slug}, {report.plan.tenants[1].slug})")
    old = next((a for a in report.accs if a["status"] == "withdrawn_old"), None)
    if old:
        click.echo(f"withdrawn > 13 months ago (not listed, verifiable): {old['slug']} "
                   f"{old['number']}, accredited on {old['granted'].isoformat()}")
    click.echo("example searches: " + "; ".join(f'"{t}"' for t in example_terms()))
