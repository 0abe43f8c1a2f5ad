"""Demo CABs for every programme, with realistic scopes, an open application and a scope history
that shows a partial suspension (used by ``flask demo``; idempotent per CAB legal name)."""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from accreditor.applications import services as applications
from accreditor.applications.models import ApplicationType
from accreditor.auth.models import Membership, MembershipRole, User
from accreditor.cabs import services as cabs
from accreditor.cabs.models import Cab
from accreditor.core.permissions import Role
from accreditor.extensions import db
from accreditor.refdata.services import programme_by_code
from accreditor.scopes import services as scopes

CAL_LINES = [
    ("PRES", "Pressure gauges and transducers (hydraulic)", "0", "700", "bar", "0.015", "%",
     "", "Comparison with dead-weight tester, EURAMET cg-17", "A"),
    ("PRES", "Pressure gauges (pneumatic)", "-0.95", "20", "bar", "0.02", "%", "",
     "Comparison with reference pressure controller", "A"),
    ("TEMP", "Platinum resistance thermometers", "-80", "420", "°C", "0.02", "°C", "",
     "Comparison in stirred baths", "A"),
    ("TEMP", "Thermocouples, type K and N", "0", "1200", "°C", "0.6", "°C", "",
     "Comparison in tube furnace", "A"),
    ("DIM", "Gauge blocks (comparison)", "0.5", "100", "mm", "0.05", "µm", "+ 0.5L",
     "L in m; mechanical comparator", "A"),
    ("VOLT", "DC voltage, sourcing", "0", "1000", "V", "8", "ppm", "",
     "Multifunction calibrator", "B"),
    ("RES", "DC resistance, measure", "1", "100", "MΩ", "25", "ppm", "", "8.5-digit DMM", "B"),
    ("MASS", "Weights, OIML class F1 and below", "1", "20", "kg", "0.8", "mg", "",
     "Substitution weighing", "A"),
]
TEST_LINES = [
    ("ENVIRONMENTAL", "Drinking water", "pH", "ISO 10523:2008", "4 to 10 pH units", "A"),
    ("ENVIRONMENTAL", "Drinking water", "Nitrate", "ISO 10304-1:2007", "0.1 to 50 mg/L", "A"),
    ("ENVIRONMENTAL", "Drinking water", "Escherichia coli", "ISO 9308-1:2014", "", "A"),
    ("CHEMICAL", "Soils", "Lead by ICP-OES", "In-house method WTM-017", "5 to 5000 mg/kg", "A"),
    ("CONSTRUCTION-MATERIALS", "Hardened concrete", "Compressive strength",
     "EN 12390-3:2019", "up to 100 MPa", "O"),
]
MS_LINES = [
    {"standard": "ISO 9001:2015", "iaf_codes": "17; 18; 19; 28; 34"},
    {"standard": "ISO 14001:2015", "iaf_codes": "17; 28; 35"},
    {"standard": "ISO 45001:2018", "iaf_codes": "28", "nace": "43.2"},
    {"standard": "ISO 22000:2018", "food_chain": "CI; CIV; G"},
]
IB_LINES = [
    ("LIFTING-EQUIPMENT", "In-service / periodic", "Cranes, hoists and lifting accessories up "
     "to 50 t", "LOLER 1998 thorough examination; procedure INS-LE-01 rev 4", "A"),
    ("PRESSURE-SYSTEMS", "Initial; In-service / periodic", "Steam boilers and air receivers",
     "PSSR 2000 written scheme examination; procedure INS-PS-02 rev 3", "A"),
    ("ASBESTOS-SURVEYS", "In-service / periodic", "Domestic, commercial and industrial premises: "
     "management and refurbishment surveys", "HSG264; procedure INS-AS-05 rev 2", ""),
]
PCB_LINES = [
    {"scheme": "NDT personnel certification", "scheme_owner": "NDT Personnel Certification "
     "Board", "normative_document": "ISO 9712:2021", "levels": "UT, RT, MT, PT — levels 1, 2, 3",
     "exam_sites": "Leeds; Aberdeen"},
    {"scheme": "Welding inspector", "scheme_owner": "International Institute of Welding",
     "normative_document": "IIW IAB-041r6-19", "levels": "Basic, Standard, Comprehensive",
     "exam_sites": "Leeds"},
]


def _user_by_local(slug: str, local: str) -> User | None:
    return db.session.execute(
        select(User).where(User.email == f"{local}@{slug}.example.org")
    ).scalar_one_or_none()


def _cab(slug: str, legal_name: str, country: str, locations, **values) -> tuple[Cab, bool]:
    existing = db.session.execute(select(Cab).where(Cab.legal_name == legal_name)).scalar_one_or_none()
    if existing is not None:
        return existing, False
    manager = _user_by_local(slug, "manager")
    cab = cabs.create_cab(legal_name=legal_name, country=country,
                          manager_id=manager.id if manager else None, **values)
    for code, name, address, kind in locations:
        cabs.add_location(cab, code=code, name=name, address=address, country=country, kind=kind,
                          activities="All accredited activities" if kind == "permanent" else "")
    cabs.add_contact(cab, name="Quality Manager", position="Quality manager",
                     email=f"quality@{legal_name.split()[0].lower()}.example.org", is_public=True)
    return cab, True


def _accredit(cab: Cab, code: str, lines: list[dict], granted: date, ib_type=None):
    programme = programme_by_code(code)
    acc = scopes.create_accreditation(cab, programme, ib_type=ib_type)
    ctx = scopes.validation_context(acc)
    for raw in lines:
        scopes.add_scope_item(acc, raw, ctx=ctx)
    scopes.grant(acc, effective_on=granted)
    return acc


def load_scope_demo(tenant) -> None:
    """Per tenant: CABs for all five programmes, an open application, a partial suspension."""
    slug, country = tenant.slug, tenant.country
    today = date.today()

    cal, new = _cab(slug, f"Precision Metrology Ltd ({slug.upper()})", country, [
        ("A", "Main laboratory", "Unit 4, Riverside Park, Newtown NT1 2AB", "permanent"),
        ("B", "Electrical laboratory", "12 Volta Road, Newtown NT3 9CD", "permanent"),
        ("S", "Customer sites", "At customers' premises (subject to contract review)", "site"),
    ], trading_names=["PML Calibration"], registration_number="04512345",
        website="https://pml.example.org")
    if new:
        lines = [dict(zip(("discipline", "quantity", "range_min", "range_max", "range_unit",
                           "cmc", "cmc_unit", "cmc_term", "remarks", "location"), row,
                          strict=True)) for row in CAL_LINES]
        acc = _accredit(cal, "17025-C", lines, today - relativedelta(years=2, months=3))
        items = scopes._items(acc, None)
        # Partial suspension of the electrical lines at location B, still in force.
        suspended = [i.id for i in items if i.fields.get("location") == "B"]
        scopes.suspend(acc, item_ids=suspended, effective_on=today - relativedelta(months=2),
                       reason="Electrical laboratory relocated; environmental conditions not yet "
                              "verified")
        # An earlier suspension of the mass line, lifted after corrective action.
        mass = [i.id for i in items if i.fields.get("discipline") == "MASS"]
        scopes.suspend(acc, item_ids=mass, effective_on=today - relativedelta(years=1, months=2),
                       reason="Reference weights overdue for calibration")
        scopes.reinstate(acc, item_ids=mass, effective_on=today - relativedelta(years=1))
        _bind_cab_user(slug, cal)

    lab, new = _cab(slug, f"Northfield Water Testing ({slug.upper()})", country, [
        ("A", "Laboratory", "3 Reservoir Lane, Northfield NF2 7QP", "permanent"),
    ], trading_names=["Northfield Labs"])
    if new:
        lines = [dict(zip(("field", "product", "test", "method", "range", "location"), row,
                          strict=True)) for row in TEST_LINES]
        _accredit(lab, "17025-T", lines, today - relativedelta(years=3))

    cb, new = _cab(slug, f"Assured Certification Services ({slug.upper()})", country, [
        ("HO", "Head office", "1 Audit Square, Capital City CC1 1AA", "permanent"),
        ("V", "Virtual office", "Remote audit planning team", "virtual"),
    ], related_bodies="Assured Training Academy (sister company, training only)",
        consultants_used="None declared")
    if new:
        _accredit(cb, "17021-1", MS_LINES, today - relativedelta(years=1, months=6))

    ib, new = _cab(slug, f"Lifting & Pressure Inspection Co ({slug.upper()})", country, [
        ("A", "Head office", "7 Crane Street, Port Town PT4 4LP", "permanent"),
    ])
    if new:
        lines = [dict(zip(("field", "stage", "range", "method", "location"), row, strict=True))
                 for row in IB_LINES]
        for line in lines:
            line["stage"] = line["stage"].replace("; ", ";")
        _accredit(ib, "17020", lines, today - relativedelta(months=10), ib_type="A")

    pcb, new = _cab(slug, f"NDT Personnel Certification Board ({slug.upper()})", country, [
        ("A", "Examination centre", "Unit 9, Weld Way, Leeds LS1 1WW", "permanent"),
    ])
    if new:
        _accredit(pcb, "17024", PCB_LINES, today - relativedelta(years=4))

    env, new = _cab(slug, f"Greenfield Environmental Labs ({slug.upper()})", country, [
        ("A", "Laboratory", "22 Meadow Road, Greenfield GF1 3EE", "permanent"),
    ])
    if new:
        app = applications.start_application(
            env, type=ApplicationType.initial, programme=programme_by_code("17025-T"),
            summary="Initial accreditation for water and soil testing.", location_codes="A")
        acc = applications._accreditation(app)
        ctx = scopes.validation_context(acc)
        for row in TEST_LINES[:3]:
            raw = dict(zip(("field", "product", "test", "method", "range", "location"), row,
                           strict=True))
            scopes.add_scope_item(acc, raw, application_id=app.id, ctx=ctx)
        applications.submit_application(app, declaration=True)
        applications.request_information(
            app, message="Please send your method validation report for E. coli (ISO 9308-1).")


def _bind_cab_user(slug: str, cab: Cab) -> None:
    """Bind the tenant's demo CAB user to this CAB (the foundation demo created it unbound)."""
    user = _user_by_local(slug, "cab")
    if user is None:
        return
    membership = db.session.execute(
        select(Membership).join(MembershipRole, MembershipRole.membership_id == Membership.id)
        .where(Membership.user_id == user.id, MembershipRole.role == Role.cab_user.value)
    ).scalar_one_or_none()
    if membership is not None and membership.cab_id is None:
        membership.cab_id = cab.id
        db.session.flush()
