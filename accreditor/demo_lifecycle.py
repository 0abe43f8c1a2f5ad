"""Demo decisions taken on the platform, with their certificates and schedules, and a complaint
and an appeal in progress (used by ``flask demo``; idempotent per CAB legal name).

Per tenant:

* **Kestrel Calibration Services**: applied for five lines; the initial assessment's report
  recommended the grant → **grant** (13 months ago); an extension assessment → **extension** by
  two lines (6 months ago); the electrical laboratory failed its environmental controls →
  **partial suspension** of its lines (imposed, 3 months ago); a special on-site assessment
  cleared it → **reinstatement** (2 weeks ago). Four schedule issues, each with its PDFs.
* **Harbour Inspection Services** (ISO/IEC 17020, type A): accredited four years ago; full
  suspension for integrity failings (5 months ago), not resolved within the maximum →
  **withdrawal** (20 days ago). It appealed the withdrawal by letter: the appeal is
  acknowledged and under review by the AB's admin, independent of the
  assessment and the decision (the decision stays in force).
* A member of the public complained (web form) about the water laboratory's reporting: the
  complaint is acknowledged and referred to the laboratory, whose answer is awaited.

Every decision goes through ``decisions.services.record_decision`` (the same rules as the
pages), taken by the demo decision maker, who was on none of the teams; the assessments' teams
are led by the demo assessor. The PDFs render after the demo's commit (in-process without
Redis, on the workers with it).
"""

from __future__ import annotations

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from accreditor.applications import services as applications
from accreditor.applications.models import ApplicationType
from accreditor.assessments.models import Assessment, TeamAssignment
from accreditor.auth.models import User
from accreditor.cabs.models import Cab
from accreditor.core.db import utcnow
from accreditor.decisions import services as decisions
from accreditor.decisions.models import Decision
from accreditor.demo_scopes import CAL_LINES, IB_LINES, _accredit, _cab
from accreditor.extensions import db
from accreditor.refdata.services import programme_by_code
from accreditor.scopes import services as scopes
from accreditor.scopes.models import ScopeItem

CAL_FIELDS = ("discipline", "quantity", "range_min", "range_max", "range_unit", "cmc",
              "cmc_unit", "cmc_term", "remarks", "location")


def load_lifecycle_demo(tenant) -> None:
    users = {local: db.session.execute(select(User).where(
        User.email == f"{local}@{tenant.slug}.example.org")).scalar_one_or_none()
        for local in ("decider", "assessor", "manager", "admin")}
    if any(u is None for u in users.values()):
        return
    _kestrel(tenant, users)
    _harbour(tenant, users)
    _complaint(tenant)


def _assessment(acc, type_: str, when: date, recommendation: str, lead: User,
                summary: str) -> Assessment:
    """A held on-site assessment whose report (issued) carries the team's recommendation."""
    a = Assessment(cab_id=acc.cab_id, accreditation_id=acc.id, type=type_, mode="onsite",
                   status="report_issued", planned_start_on=when,
                   planned_end_on=when + timedelta(days=1), recommendation=recommendation,
                   report_summary=summary)
    db.session.add(a)
    db.session.flush()
    db.session.add(TeamAssignment(cab_id=acc.cab_id, assessment_id=a.id, user_id=lead.id,
                                  role="lead"))
    db.session.flush()
    return a


def _decide(acc, kind: str, on: date, maker: User, rationale: str, *, assessment=None,
            **kw) -> Decision:
    d = decisions.record_decision(
        acc, kind=kind, rationale=rationale, effective_on=on, maker_ids=[maker.id],
        input_ids=[assessment.id] if assessment is not None else [],
        assessment_id=assessment.id if assessment is not None else None, **kw)
    d.decided_at = utcnow().replace(year=on.year, month=on.month, day=on.day)
    if assessment is not None:
        assessment.status = "closed"
        assessment.closed_at = d.decided_at
    db.session.flush()
    return d


def _line_ids(acc, **match) -> list[int]:
    items = db.session.execute(select(ScopeItem).where(
        ScopeItem.accreditation_id == acc.id).order_by(ScopeItem.position)).scalars()
    return [i.id for i in items if all(i.fields.get(k) == v for k, v in match.items())]


def _kestrel(tenant, users) -> None:
    cab, new = _cab(tenant.slug, f"Kestrel Calibration Services ({tenant.slug.upper()})",
                    tenant.country, [
                        ("A", "Main laboratory", "5 Kestrel Way, Eastport EP2 4MC", "permanent"),
                        ("B", "Electrical laboratory", "5 Kestrel Way, Unit 2, Eastport EP2 4MC",
                         "permanent"),
                    ], trading_names=["Kestrel Cal"])
    if not new:
        return
    today = date.today()
    lead, maker = users["assessor"], users["decider"]
    acc = scopes.create_accreditation(cab, programme_by_code("17025-C"))
    ctx = scopes.validation_context(acc)
    rows = [dict(zip(CAL_FIELDS, row, strict=True)) for row in CAL_LINES]
    for raw in rows[:5]:
        scopes.add_scope_item(acc, raw, ctx=ctx)
    granted = today - relativedelta(months=13)
    initial = _assessment(acc, "initial", granted - timedelta(days=40), "grant", lead,
                          "The laboratory meets ISO/IEC 17025:2017 for the five requested lines.")
    _decide(acc, "grant", granted, maker, "The initial assessment found the laboratory "
            "competent for all requested lines; no nonconformity is open.", assessment=initial)

    extended = today - relativedelta(months=6)
    app = applications.start_application(
        cab, type=ApplicationType.extension, programme=acc.programme, accreditation=acc,
        summary="Extension to DC electrical quantities at the electrical laboratory.",
        location_codes="B")
    for raw in rows[5:7]:
        applications.add_requested_line(app, {**raw, "location": "B"}, ctx=ctx)
    applications.submit_application(app, declaration=True)
    applications.accept_application(app)
    extension = _assessment(acc, "extension", extended - timedelta(days=30), "extend", lead,
                            "DC voltage and resistance at the electrical laboratory are "
                            "competently performed.")
    _decide(acc, "extend", extended, maker, "Extension to DC voltage and resistance at the "
            "electrical laboratory (location B) on the extension assessment's evidence.",
            assessment=extension)

    suspended_on = today - relativedelta(months=3)
    electrical = _line_ids(acc, location="B")
    _decide(acc, "suspend", suspended_on, maker, "The electrical laboratory's temperature "
            "control failed for six weeks and results were issued; imposed suspension of its "
            "lines until the special assessment confirms the corrective action.",
            item_ids=electrical, suspension_type="imposed", extent="partial")

    reinstated = today - timedelta(days=14)
    special = _assessment(acc, "special", reinstated - timedelta(days=10), "reinstate", lead,
                          "Environmental controls replaced and verified; affected results "
                          "recalled and reissued.")
    _decide(acc, "reinstate", reinstated, maker, "The special on-site assessment verified the "
            "corrective action; the suspended lines are reinstated.", assessment=special,
            item_ids=electrical)


def _harbour(tenant, users) -> None:
    cab, new = _cab(tenant.slug, f"Harbour Inspection Services ({tenant.slug.upper()})",
                    tenant.country, [("A", "Head office", "2 Quay Street, Port Town PT1 1HS",
                                      "permanent")])
    if not new:
        return
    today = date.today()
    lines = [dict(zip(("field", "stage", "range", "method", "location"), row, strict=True))
             for row in IB_LINES[:2]]
    for line in lines:
        line["stage"] = line["stage"].replace("; ", ";")
    granted = today - relativedelta(years=4)
    acc = _accredit(cab, "17020", lines, granted, ib_type="A")
    decisions.issue_schedule(acc, None, issued_on=granted)
    maker = users["decider"]
    _decide(acc, "suspend", today - relativedelta(months=5), maker, "Inspection reports were "
            "signed by a person not authorised for pressure systems; integrity of the "
            "inspection records in doubt. Full imposed suspension.",
            item_ids=_line_ids(acc), suspension_type="imposed", extent="full")
    withdrawn_on = today - timedelta(days=20)
    withdrawal = _decide(acc, "withdraw", withdrawn_on, maker, "The suspension reached its "
                         "maximum without the corrective action being demonstrated; "
                         "accreditation withdrawn.")
    _appeal(withdrawal, users)


def _appeal(decision: Decision, users) -> None:
    from accreditor.appeals import services as appeals

    appeal = appeals.lodge_appeal(
        decision, grounds="We dispute that the signatory was unauthorised: his authorisation "
        "for pressure systems was renewed before the inspections (letter of 12 days ago, with "
        "the training records attached to it).", lodged_by_id=users["manager"].id,
        on_behalf=True)
    appeals.acknowledge_appeal(appeal)
    appeals.assign_handler(appeal, handler_id=users["admin"].id)


def _complaint(tenant) -> None:
    from accreditor.complaints import services as complaints
    from accreditor.complaints.models import Complaint

    lab = db.session.execute(select(Cab).where(
        Cab.legal_name == f"Northfield Water Testing ({tenant.slug.upper()})")
    ).scalar_one_or_none()
    if lab is None or db.session.execute(select(Complaint.id).where(
            Complaint.cab_id == lab.id).limit(1)).first() is not None:
        return
    c = complaints.receive_complaint(
        subject="cab", cab_id=lab.id, complainant_name="Robin Fairweather",
        complainant_email="robin.fairweather@example.net",
        what_happened="Our borehole water report showed nitrate at 12 mg/L, but the sample was "
        "received two days after collection and the report does not say so. The laboratory did "
        "not answer our two e-mails about it.",
        event_on=date.today() - timedelta(days=20), desired_outcome="A corrected report that "
        "states the sample's condition, and an explanation.", consent_to_share=True,
        received_on=date.today() - timedelta(days=8), today=date.today() - timedelta(days=8))
    complaints.acknowledge(c)
    complaints.refer_to_cab(c)
