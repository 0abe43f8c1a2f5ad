"""Platform reference data, loaded by ``flask refdata load`` (idempotent: upsert by code).

Sources, and how far to trust them, are in DOMAIN.md §2.6, §3 and docs/reference-data.md.
Cluster and critical flags are a seed for a per-tenant, editable list — not authority.
"""

from __future__ import annotations

PROGRAMMES = [
    # code, name, standard, scope_type, number_code, needs_ib_type, editions (current last)
    ("17025-T", "Testing laboratories", "ISO/IEC 17025", "testing", "TST", False, ["2005", "2017"]),
    ("17025-C", "Calibration laboratories", "ISO/IEC 17025", "calibration", "CAL", False,
     ["2005", "2017"]),
    ("17020", "Inspection bodies", "ISO/IEC 17020", "inspection", "INS", True, ["2012"]),
    ("17021-1", "Management system certification bodies", "ISO/IEC 17021-1",
     "ms_certification", "MSC", False, ["2015"]),
    ("17024", "Person certification bodies", "ISO/IEC 17024", "person_certification", "PCB",
     False, ["2012"]),
]

MS_STANDARDS = [
    ("ISO 9001", "2015", "Quality management systems", "iaf"),
    ("ISO 14001", "2015", "Environmental management systems", "iaf"),
    ("ISO 45001", "2018", "Occupational health and safety management systems", "iaf"),
    ("ISO/IEC 27001", "2022", "Information security management systems", "iaf_optional"),
    ("ISO 22000", "2018", "Food safety management systems", "food_chain"),
    ("FSSC 22000", "6", "Food safety system certification scheme", "food_chain"),
    ("ISO 13485", "2016", "Medical devices — quality management systems", "md9"),
    ("ISO 50001", "2018", "Energy management systems", "none"),
    ("ISO 37001", "2016", "Anti-bribery management systems", "none"),
]

IAF_SOURCE = "IAF ID 1:2014 Issue 2; clusters/critical seeded from IAF MD 17 (QMS)"
# code, name, NACE Rev.2, QMS cluster, critical
IAF_CODES = [
    (1, "Agriculture, forestry and fishing", "01–03", "Food", False),
    (2, "Mining and quarrying", "05–09", "Metals & building materials", True),
    (3, "Food products, beverages and tobacco", "10–12", "Food", True),
    (4, "Textiles and textile products", "13, 14", "Goods production", False),
    (5, "Leather and leather products", "15", "Goods production", True),
    (6, "Wood and wood products", "16", "Goods production", False),
    (7, "Pulp, paper and paper products", "17", "Paper & printing", False),
    (8, "Publishing companies", "58.1, 59.2", "Paper & printing", False),
    (9, "Printing companies", "18", "Paper & printing", True),
    (10, "Manufacture of coke and refined petroleum products", "19", "Chemicals", False),
    (11, "Nuclear fuel", "24.46", "Stand-alone: nuclear", True),
    (12, "Chemicals, chemical products and fibres", "20 (excl. 20.51)", "Chemicals", True),
    (13, "Pharmaceuticals", "21", "Stand-alone: pharmaceuticals", True),
    (14, "Rubber and plastic products", "22", "Goods production", True),
    (15, "Non-metallic mineral products", "23 excl. 23.5, 23.6", "Metals & building materials",
     True),
    (16, "Concrete, cement, lime, plaster etc.", "23.5, 23.6", "Metals & building materials",
     False),
    (17, "Basic metals and fabricated metal products", "24 (excl. 24.46), 25 (excl. 25.4), 33.11",
     "Mechanical", False),
    (18, "Machinery and equipment", "25.4, 28, 30.4, 33.12, 33.2", "Mechanical", False),
    (19, "Electrical and optical equipment", "26, 27, 33.13, 33.14, 95.1", "Mechanical", False),
    (20, "Shipbuilding", "30.1, 33.15", "Mechanical", True),
    (21, "Aerospace", "30.3, 33.16", "Stand-alone: aerospace", True),
    (22, "Other transport equipment", "29, 30.2, 30.9, 33.17", "Mechanical", True),
    (23, "Manufacturing not elsewhere classified", "31, 32", "Goods production", False),
    (24, "Recycling", "38.3", "Transport & waste", True),
    (25, "Electricity supply", "35.1", "Supply (energy)", False),
    (26, "Gas supply", "35.2", "Supply (energy)", True),
    (27, "Water supply", "35.3, 36", "Supply (energy)", False),
    (28, "Construction", "41–43", "Construction", True),
    (29, "Wholesale and retail trade; repair of motor vehicles, motorcycles and personal and "
         "household goods", "45–47, 95.2", "Services", False),
    (30, "Hotels and restaurants", "55, 56", "Food", False),
    (31, "Transport, storage and communication", "49–53, 61", "Transport & waste", False),
    (32, "Financial intermediation; real estate; renting", "64–68, 77", "Services", False),
    (33, "Information technology", "58.2, 62, 63.1", "Services", True),
    (34, "Engineering services", "71, 72, 74", "Construction", False),
    (35, "Other services", "69, 70, 73, 74, 78, 80–82", "Services", False),
    (36, "Public administration", "84", "Services", False),
    (37, "Education", "85", "Services", True),
    (38, "Health and social work", "75, 86–88", "Stand-alone: health", True),
    (39, "Other social services", "37, 38.1, 38.2, 39, 59.1, 60, 63.9, 79, 90–96",
     "Transport & waste", False),
]

FOOD_CHAIN_SOURCE = "ISO/TS 22003-1:2022"
FOOD_CHAIN = [
    ("AI", "Farming of animals for meat, milk, eggs, honey", "Farming"),
    ("AII", "Farming of fish and seafood", "Farming"),
    ("BI", "Farming of plants (other than grains and pulses)", "Farming"),
    ("BII", "Farming of grains and pulses", "Farming"),
    ("BIII", "Pre-process handling of plant products", "Farming"),
    ("C0", "Animal primary conversion", "Food and feed processing"),
    ("CI", "Processing of perishable animal products", "Food and feed processing"),
    ("CII", "Processing of perishable plant products", "Food and feed processing"),
    ("CIII", "Processing of perishable animal and plant products (mixed products)",
     "Food and feed processing"),
    ("CIV", "Processing of ambient stable products", "Food and feed processing"),
    ("DI", "Production of feed", "Food and feed processing"),
    ("DII", "Production of pet food", "Food and feed processing"),
    ("E", "Food service", "Catering"),
    ("FI", "Retail/wholesale", "Retail, transport and storage"),
    ("FII", "Food broking/trading", "Retail, transport and storage"),
    ("G", "Transport and storage services", "Retail, transport and storage"),
    ("H", "Services", "Auxiliary services"),
    ("I", "Production of food packaging and packaging material", "Auxiliary services"),
    ("J", "Equipment manufacturing", "Auxiliary services"),
    ("K", "Production of (bio)chemicals", "Biochemical"),
]

MD9_SOURCE = "IAF MD 9:2023"
MD9_AREAS = [
    ("NA", "Non-active medical devices"),
    ("AN", "Active (non-implantable) medical devices"),
    ("AI", "Active implantable medical devices"),
    ("IVD", "In vitro diagnostic medical devices"),
    ("ST", "Sterilization methods for medical devices"),
    ("SUB", "Devices incorporating/utilizing specific substances or technologies"),
    ("PS", "Parts or services"),
]

TESTING_SOURCE = "A2LA fields of testing (R101)"
TESTING_FIELDS = [
    "Acoustics and Vibration", "Biological", "Chemical", "Construction Materials",
    "Electrical", "Environmental", "Forensic", "Geotechnical", "Information Technology",
    "Mechanical", "Nondestructive", "Thermal",
]

RELATIVE_UNITS = ["%", "ppm", "% of reading", "% of full scale"]
CALIBRATION_SOURCE = "UKAS / A2LA calibration schedules"
# code, name, units accepted for ranges and CMCs (relative units are always accepted for CMCs)
CALIBRATION_DISCIPLINES = [
    ("DIM", "Dimensional", ["nm", "µm", "mm", "cm", "m", "in", "µin"]),
    ("MASS", "Mass", ["µg", "mg", "g", "kg", "t"]),
    ("PRES", "Pressure", ["Pa", "kPa", "MPa", "hPa", "mbar", "bar", "psi", "mmHg", "inH2O"]),
    ("TEMP", "Temperature", ["mK", "K", "°C", "°F"]),
    ("VOLT", "Electrical – voltage", ["nV", "µV", "mV", "V", "kV"]),
    ("CURR", "Electrical – current", ["nA", "µA", "mA", "A", "kA"]),
    ("RES", "Electrical – resistance", ["µΩ", "mΩ", "Ω", "kΩ", "MΩ", "GΩ"]),
    ("TIME", "Time and frequency", ["ns", "µs", "ms", "s", "Hz", "kHz", "MHz", "GHz"]),
    ("FORCE", "Force", ["mN", "N", "kN", "MN", "lbf"]),
    ("TORQ", "Torque", ["N·m", "kN·m", "lbf·ft", "lbf·in"]),
    ("HUM", "Humidity", ["%RH", "°C dew point"]),
    ("VOL", "Volume and flow", ["µL", "mL", "L", "m³", "L/min", "m³/h"]),
]

INSPECTION_SOURCE = "ILAC G28 / UKAS RG series"
INSPECTION_FIELDS = [
    "Lifting equipment", "Pressure systems", "Asbestos surveys", "Carriage of dangerous goods",
    "Electrical installations", "Gas installations", "Fire protection systems",
    "Construction products", "Road vehicles", "Welding", "Food premises hygiene",
    "Non-destructive testing inspection",
]
INSPECTION_STAGES = ["Design", "Type", "Initial", "In-service / periodic", "Product", "Process"]
