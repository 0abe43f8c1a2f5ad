"""Demo assessor register, cycle programmes, assessment history and witness records (used by
``flask demo``; idempotent per tenant: nothing is added once the tenant has assessor profiles).

Per tenant it leaves:

- an assessor register: Sam (internal lead for the laboratory and inspection programmes, with an
  expired 17024 authorisation), Freya (external lead for MS and persons certification), Tariq
  (technical expert for pressure and temperature), Victor (MS assessor with a consultancy link to
  Assured Certification Services that ended 14 months ago, inside the 2-year look-back: the team
  check refuses him for that CAB) and Lena (lead whose on-site monitoring is overdue, rule 37);
- for every live accreditation the assessments already held in its current cycle (closed, with a
  report, its lead authorised since before the oldest visit; one lead's visits never overlap,
  and each tenant's visits start on its own weekday, so Freya is never booked twice across the
  two tenants) and the rest of the cycle proposed from the tenant's policy;
- the calibration lab's next surveillance with its team proposed, so the CAB user sees the plan
  and the objection window in the portal;
- a witness history for both MS certification bodies, recorded through the witness service;
  Meridian's ISO 9001 code 28 (construction, critical) was last witnessed over five years ago
  and shows as overdue.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from accreditor.assessments import programme, register, services
from accreditor.assessments import team as team_services
from accreditor.assessments import witness as witness_services
from accreditor.assessments.models import (
    Assessment,
    AssessmentStatus,
    AssessorAuthorisation,
    AssessorProfile,
    AuthorisationRole,
    AuthorisationStatus,
    TeamAssignment,
    TeamRole,
)
from accreditor.auth.models import User
from accreditor.cabs.models import Cab
from accreditor.core import audit
from accreditor.core.db import utcnow
from accreditor.core.errors import DomainError
from accreditor.core.permissions import Role
from accreditor.extensions import db
from accreditor.refdata.models import TermKind
from accreditor.refdata.services import programme_by_code
from accreditor.scopes.models import Accreditation
from accreditor.tenants.models import TenantPolicy

PEOPLE = {
    # local part: (name, organisation, external, months since on-site monitoring)
    "assessor": (None, None, False, 5),
    "tariq": ("Tariq Technical", "Pressure & Thermal Consultants Ltd", True, 14),
    "victor": ("Victor Vance", "Independent", True, 10),
    "lena": ("Lena Lead", None, False, 40),
}
FREELANCE_ORG = "Freelance assessor"
MERIDIAN_LINES = [
    {"standard": "ISO 9001:2015", "iaf_codes": "17; 28; 31"},
    {"standard": "ISO 14001:2015", "iaf_codes": "28"},
]


def load_assessment_demo(tenant) -> None:
    if db.session.execute(select(AssessorProfile.id).limit(1)).first() is not None:
        return
    today = date.today()
    people = _register(tenant, today)
    meridian = _meridian(tenant, today)
    accreditations = db.session.execute(
        select(Accreditation).options(selectinload(Accreditation.programme),
                                      selectinload(Accreditation.cab))
        .order_by(Accreditation.id)).scalars().all()
    booked: dict[int, list[tuple[date, date]]] = {}
    weekday = _tenant_weekday(tenant)
    for acc in accreditations:
        if not acc.is_live:
            continue
        lead = people["freya"] if acc.programme.code in ("17021-1", "17024") else people["sam"]
        _history(acc, lead, today, booked.setdefault(lead.id, []), weekday)
        try:
            programme.propose_programme(acc, start_on=today)
        except DomainError:
            continue  # e.g. a cycle that has ended: nothing to propose
    _propose_next_team(people, today)
    _witnesses(meridian, today)


# -- register ---------------------------------------------------------------------------------


def _register(tenant, today: date) -> dict[str, User]:
    from accreditor.demo import _member, _user

    slug = tenant.slug
    manager = _by_email(f"manager@{slug}.example.org")
    people: dict[str, User] = {}
    for local, (name, org, external, monitored) in PEOPLE.items():
        email = f"{local}@{slug}.example.org"
        user = _by_email(email) or _user(email, f"{name} ({slug.upper()})")
        _member(tenant, user, [Role.assessor])
        db.session.add(AssessorProfile(
            user_id=user.id, organisation=org or tenant.name, is_external=external,
            last_onsite_monitoring_on=today - relativedelta(months=monitored),
            monitoring_notes="Observed leading an on-site assessment; satisfactory."))
        people[local] = user
    people["sam"] = people.pop("assessor")
    freya = _by_email("freelance@assessors.example.org")
    db.session.add(AssessorProfile(user_id=freya.id, organisation=FREELANCE_ORG, is_external=True,
                                   last_onsite_monitoring_on=today - relativedelta(months=8)))
    people["freya"] = freya
    db.session.flush()

    # Authorised before the oldest demo visit (the 17024 body's document review, 4 years and
    # 4 months ago), so every lead of the history is authorised over their visits.
    def authorise(user, role, code, *, kind=None, areas=(), years=8, valid_to=None):
        a = AssessorAuthorisation(
            user_id=user.id, role=role.value, programme_id=programme_by_code(code).id,
            area_kind=kind, areas=list(areas), valid_from=today - relativedelta(years=years),
            valid_to=valid_to, status=AuthorisationStatus.approved.value,
            approved_by_id=manager.id if manager else None, approved_at=utcnow(),
            notes="Demo: witnessed as lead/assessor, training records on file.")
        db.session.add(a)
        db.session.flush()
        audit.record("assessor.authorisation_approved", a, changes=audit.snapshot(
            a, ("user_id", "role", "programme_id", "area_kind", "areas", "valid_to")))

    lead, assessor, te = (AuthorisationRole.lead_assessor, AuthorisationRole.assessor,
                          AuthorisationRole.technical_expert)
    for code in ("17025-C", "17025-T", "17020"):
        authorise(people["sam"], lead, code)
    authorise(people["sam"], assessor, "17024", valid_to=today - timedelta(days=20))  # expired
    authorise(freya, lead, "17021-1")
    authorise(freya, lead, "17024")
    authorise(people["tariq"], te, "17025-C", kind=TermKind.calibration_discipline.value,
              areas=("PRES", "TEMP"), years=2)
    authorise(people["victor"], assessor, "17021-1", kind=TermKind.iaf_code.value,
              areas=("17", "28", "34", "35"))
    authorise(people["lena"], lead, "17025-T", years=6)

    assured = db.session.execute(
        select(Cab).where(Cab.legal_name.like("Assured Certification Services%"))
    ).scalar_one_or_none()
    if assured is not None:
        register.record_declaration(
            people["victor"].id, kind="consultancy", cab_id=assured.id, organisation=None,
            started_on=today - relativedelta(years=3), ended_on=today - relativedelta(months=14),
            description="Helped implement the CB's impartiality procedure (paid consultancy).")
    register.record_declaration(
        people["tariq"].id, kind="employment", cab_id=None,
        organisation="Pressure & Thermal Consultants Ltd (own company)",
        started_on=today - relativedelta(years=9), ended_on=None,
        description="Director; the company sells calibration training, not calibration.")
    return people


def _by_email(email: str) -> User | None:
    return db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()


# -- a second MS certification body with a long history ---------------------------------------


def _meridian(tenant, today: date) -> Accreditation:
    """An MS CB first accredited seven years ago and reaccredited two years ago."""
    from accreditor.demo_scopes import _accredit, _cab

    cab, _new = _cab(tenant.slug, f"Meridian Quality Certification ({tenant.slug.upper()})",
                     tenant.country, [
                         ("HO", "Head office", "40 Compass Road, Harbour City HC2 8MQ",
                          "permanent")])
    acc = _accredit(cab, "17021-1", MERIDIAN_LINES, today - relativedelta(years=2))
    first = today - relativedelta(years=7)
    audit.record("accreditation.history_recorded", acc, changes={
        "initial_grant_on": [acc.initial_grant_on.isoformat(), first.isoformat()]})
    acc.initial_grant_on = first  # the cycle that started two years ago is its second
    db.session.flush()
    return acc


# -- assessments already held -----------------------------------------------------------------


def _tenant_weekday(tenant) -> int:
    """The weekday the tenant's demo visits start on: Monday for the first demo tenant,
    Wednesday for the second, so Freya, who assesses for both, is never booked twice."""
    from accreditor.demo import TENANTS

    slugs = [slug for slug, _name, _country in TENANTS]
    return 2 * (slugs.index(tenant.slug) % 2) if tenant.slug in slugs else 0


def _free_slot(on: date, days: int, weekday: int, booked: list[tuple[date, date]]
               ) -> tuple[date, date]:
    """The visit moved earlier (never later: the dates are deadlines) to the tenant's weekday
    and then by whole weeks until the lead has no other visit on those days."""
    on -= timedelta(days=(on.weekday() - weekday) % 7)
    while any(s <= on + timedelta(days=days - 1) and on <= e for s, e in booked):
        on -= timedelta(days=7)
    end = on + timedelta(days=days - 1)
    booked.append((on, end))
    return on, end


def _history(acc: Accreditation, lead: User, today: date, booked: list[tuple[date, date]],
             weekday: int = 0) -> None:
    """Closed assessments of the current cycle up to today (reports issued, lead on the team).
    Visits of one lead never overlap (``booked``: the lead's visits so far)."""
    if acc.cycle_start_on is None:
        return  # an applicant: its programme starts with the proposal
    policy = TenantPolicy.current()
    start = acc.cycle_start_on
    visits: list[tuple[str, date, int]] = []
    if programme.is_first_cycle(acc):
        visits += [("document_review", start - relativedelta(months=4), 1),
                   ("initial", start - relativedelta(months=3), 2)]
    else:
        visits.append(("reassessment", start - relativedelta(months=2), 2))
    m = policy.first_surveillance_months if programme.is_first_cycle(acc) else \
        policy.surveillance_interval_months
    while start + relativedelta(months=m) < today - timedelta(days=30):
        visits.append(("surveillance", start + relativedelta(months=m), 1))
        m += policy.surveillance_interval_months
    for type_, on, days in visits:
        on, end = _free_slot(on, days, weekday, booked)
        desk = type_ == "document_review"
        a = services.create_assessment(
            acc, type_, "remote" if desk else "onsite", on, end,
            [] if desk else _location_codes(acc),
            remote_justification=programme.DESK_REVIEW[0] if desk else None,
            ict_risk_note=programme.DESK_REVIEW[1] if desk else None)
        a.from_programme = True
        if not desk:
            ids = services.sampleable_ids(a)
            services.set_sample(a, ids if type_ != "surveillance" else ids[::2] or ids)
        db.session.add(TeamAssignment(cab_id=a.cab_id, assessment_id=a.id, user_id=lead.id,
                                      role=TeamRole.lead.value))
        held = utcnow() - (today - end)
        a.risk_consideration = "Stable scope, no complaints; normal sampling."
        a.risk_recorded_at = held
        a.team_notified_at = held - timedelta(days=40)
        a.objection_window_ends_on = on - timedelta(days=30)
        a.report_summary = ("The CAB continues to meet the requirements for the sampled scope."
                            if type_ != "document_review" else
                            "Documented management system reviewed; ready for on-site "
                            "assessment.")
        a.recommendation = "grant" if type_ in ("initial", "reassessment") else "maintain"
        a.actual_days = a.estimated_days
        a.report_issued_at = held + timedelta(days=10)
        a.closed_at = held + timedelta(days=40)
        a.status = AssessmentStatus.closed.value
        db.session.flush()
        audit.record("assessment.history_recorded", a, changes={
            "status": [AssessmentStatus.draft.value, a.status],
            "lead": [None, lead.id]})


def _location_codes(acc: Accreditation) -> list[str]:
    from accreditor.cabs.models import CabLocation

    return list(db.session.execute(
        select(CabLocation.code).where(CabLocation.cab_id == acc.cab_id, CabLocation.is_active,
                                       CabLocation.kind == "permanent")).scalars())[:2]


# -- a team proposed to a CAB ----------------------------------------------------------------


def _propose_next_team(people: dict[str, User], today: date) -> None:
    """The calibration lab's next proposed visit gets Sam (lead) and Tariq (technical expert)."""
    a = db.session.execute(
        select(Assessment).join(Cab, Cab.id == Assessment.cab_id)
        .where(Cab.legal_name.like("Precision Metrology%"),
               Assessment.status == AssessmentStatus.draft.value,
               Assessment.planned_start_on > today)
        .order_by(Assessment.planned_start_on).limit(1)
    ).scalar_one_or_none()
    if a is None:
        return
    try:
        team_services.propose_team(a, [(people["sam"].id, TeamRole.lead),
                                       (people["tariq"].id, TeamRole.technical_expert)])
        services.update_agenda(a, "Day 1 09:00 opening meeting; pressure and temperature "
                                  "laboratories; witnessing of a gauge calibration.\n"
                                  "Day 1 16:30 closing meeting.")
    except DomainError:
        pass  # the demo stays loadable if a rule changes; the draft remains


# -- witnessing -------------------------------------------------------------------------------


def _witnesses(meridian: Accreditation, today: date) -> None:
    """Recorded through the witness service (the system as the caller), so every row passes its
    checks: audit type, a standard and code of the live scope, personnel, place."""

    def witness(acc, on, standard, code, client, audit_type, *, extent="full", mode="onsite"):
        place = (f"{client}, main site" if mode == "onsite"
                 else "Remote — video link to the client's site")
        # The demo stays loadable if a rule changes (tests/test_demo.py notices a missing row).
        with suppress(DomainError):
            witness_services.record_witness(
                acc, activity="ms_audit", client_name=client, audit_type=audit_type,
                cab_personnel="Lead auditor J. Okafor; auditor P. Lindqvist",
                standard=standard, iaf_code=code, extent=extent, mode=mode, witnessed_on=on,
                place=place, outcome="satisfactory",
                notes="Audit team competent for the code; audit time per IAF MD 5.")

    rel = relativedelta
    witness(meridian, today - rel(years=5, months=4), "ISO 9001:2015", "28",
            "Harbour Construction Ltd", "initial_stage2")
    witness(meridian, today - rel(months=8), "ISO 9001:2015", "17", "Apex Metal Works",
            "surveillance")
    witness(meridian, today - rel(months=14), "ISO 9001:2015", "31", "Swift Freight plc",
            "recertification", extent="partial", mode="remote")
    witness(meridian, today - rel(months=10), "ISO 14001:2015", "28", "Harbour Construction Ltd",
            "surveillance")
    assured = db.session.execute(
        select(Accreditation).join(Cab, Cab.id == Accreditation.cab_id)
        .where(Cab.legal_name.like("Assured Certification Services%"))
    ).scalar_one_or_none()
    if assured is not None and assured.initial_grant_on is not None:
        g = assured.initial_grant_on
        witness(assured, g - rel(months=2), "ISO 9001:2015", "28", "Northern Builders Ltd",
                "initial_stage2")
        witness(assured, g + rel(months=11), "ISO 14001:2015", "35", "Citywide Facilities",
                "surveillance")
        witness(assured, g + rel(months=11, days=9), "ISO 14001:2015", "28",
                "Northern Builders Ltd", "surveillance")
        witness(assured, g + rel(months=12), "ISO 45001:2018", "28", "Northern Builders Ltd",
                "surveillance", extent="partial", mode="remote")
