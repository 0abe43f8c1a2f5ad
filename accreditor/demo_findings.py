"""Demo findings (used by ``flask demo``; idempotent per tenant: nothing is added once the tenant
has findings). Everything goes through the findings services, the system as the caller.

Per tenant it leaves:

- at the calibration laboratory (the demo CAB user's CAB) a special assessment held seven weeks
  ago whose report is issued, with findings in every issued state: a major nobody answered
  (overdue, the manager told by the deadline job), a major whose first answer was rejected and
  the second accepted (evidence files in both rounds), a minor closed on an accepted plan (to be
  verified at the next visit), a major whose answer awaits review, a major whose plan is accepted
  and whose evidence is awaited, and an observation;
- at the water-testing laboratory an assessment in progress with a technical expert's (Lena's)
  draft awaiting confirmation, a recorded finding not yet issued and a withdrawn one. The second
  tenant (GAC) grades with ILAC G20 categories and has a Category 1 finding there, which proposes
  a suspension of the affected line to the case manager (rule 16).
"""

from __future__ import annotations

import io
from datetime import date, timedelta

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from accreditor.assessments import services as assessment_services
from accreditor.assessments.models import Assessment, AssessmentStatus, TeamAssignment, TeamRole
from accreditor.auth.models import User
from accreditor.cabs.models import Cab
from accreditor.core.db import utcnow
from accreditor.extensions import db
from accreditor.findings import services
from accreditor.findings.grading import Severity
from accreditor.findings.jobs import DeadlineRun, run_for_tenant
from accreditor.findings.models import Finding
from accreditor.scopes.models import Accreditation
from accreditor.tenants import services as tenant_services
from accreditor.tenants.models import TenantPolicy

SCHEMES = {"gac": "ilac_g20"}


def _pdf(name: str, text: str) -> FileStorage:
    body = (f"%PDF-1.4\n% {text}\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n"
            "%%EOF\n").encode()
    return FileStorage(io.BytesIO(body), filename=name, content_type="application/pdf")


def _user(email: str) -> User | None:
    return db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()


def _accreditation(name_prefix: str) -> Accreditation | None:
    return db.session.execute(
        select(Accreditation).join(Cab, Cab.id == Accreditation.cab_id)
        .where(Cab.legal_name.like(f"{name_prefix}%"), Accreditation.number.is_not(None))
        .order_by(Accreditation.id).limit(1)).scalar_one_or_none()


def _grade(severity: Severity) -> int:
    return next(g.id for g in services.active_grades() if g.severity == severity)


def _visit(acc: Accreditation, type_: str, start: date, days: int,
           team: list[tuple[User, TeamRole]]) -> Assessment:
    a = assessment_services.create_assessment(acc, type_, "onsite", start,
                                              start + timedelta(days=days - 1), ["A"])
    assessment_services.set_sample(a, assessment_services.sampleable_ids(a)[:4])
    for user, role in team:
        db.session.add(TeamAssignment(cab_id=a.cab_id, assessment_id=a.id, user_id=user.id,
                                      role=role.value))
    a.risk_consideration = "Findings of the last surveillance; new reference standards."
    a.risk_recorded_at = utcnow() - (date.today() - start) - timedelta(days=20)
    a.team_notified_at = a.risk_recorded_at
    a.objection_window_ends_on = start - timedelta(days=10)
    a.status = AssessmentStatus.in_progress.value
    db.session.flush()
    return a


def _finding(a: Assessment, by: User, severity: Severity, clause: str, statement: str,
             evidence: str, standard: str | None = None, lines: int = 1) -> Finding:
    items = assessment_services.sample_ids(a)
    return services.raise_finding(
        a, raised_by_id=by.id, grade_id=_grade(severity),
        standard=standard or services.own_standard(a.accreditation_id), clause=clause,
        statement=statement, objective_evidence=evidence,
        item_ids=sorted(items)[:lines], location_codes=["A"])


def _answer(f: Finding, cab_user: User, type_: str, files=(), **text) -> None:
    services.submit_response(f, response_type=type_, files=list(files),
                             submitted_by_id=cab_user.id, **text)


def load_findings_demo(tenant) -> None:
    if db.session.execute(select(Finding.id).limit(1)).first() is not None:
        return
    slug = tenant.slug
    if slug in SCHEMES:
        tenant_services.update_policy(TenantPolicy.current(), grading_scheme=SCHEMES[slug])
    sam = _user(f"assessor@{slug}.example.org")
    tariq = _user(f"tariq@{slug}.example.org")
    cab_user = _user(f"cab@{slug}.example.org")
    cal = _accreditation("Precision Metrology")
    water = _accreditation("Northfield Water")
    if None in (sam, tariq, cab_user, cal, water):
        return
    today = date.today()
    _issued_findings(cal, sam, tariq, cab_user, today)
    _findings_in_progress(water, sam, _user(f"lena@{slug}.example.org") or sam, today)
    run_for_tenant(today, DeadlineRun())  # marks the unanswered major overdue


def _issued_findings(acc: Accreditation, sam: User, tariq: User, cab_user: User,
                     today: date) -> None:
    held = today - timedelta(days=52)
    a = _visit(acc, "special", held, 2, [(sam, TeamRole.lead), (tariq, TeamRole.technical_expert)])
    overdue = _finding(
        a, sam, Severity.major, "6.4",
        "The laboratory does not ensure that equipment is calibrated before being placed into "
        "service.", "Reference gauge RG-7 used for 14 calibrations in March; its certificate "
        "expired in January.")
    rejected = _finding(
        a, sam, Severity.major, "7.6",
        "The measurement uncertainty budget for pressure does not include all significant "
        "contributions.", "Budget PU-03 rev 2 omits the dead-weight tester's drift and "
        "the resolution of the unit under calibration.")
    minor = _finding(
        a, sam, Severity.minor, "8.4",
        "Records of environmental monitoring are not retained for the defined period.",
        "Temperature logs for laboratory A are missing for two weeks in February.")
    review = _finding(
        a, sam, Severity.major, "7.7",
        "Results of interlaboratory comparisons are not reviewed and acted upon.",
        "PT round P-2031 gave |En| = 1.4 for 400 bar; no investigation was recorded.")
    plan = _finding(
        a, sam, Severity.major, "6.2",
        "Competence of personnel authorised for temperature calibration is not demonstrated.",
        "Two technicians authorised in April have no recorded training or supervision.")
    _finding(a, tariq, Severity.observation, "7.1",
             "Contract review could state the decision rule more clearly.",
             "Quotation Q-118 refers to 'standard tolerance' without naming the rule.")
    draft = db.session.execute(select(Finding).where(
        Finding.assessment_id == a.id, Finding.status == "draft")).scalar_one()
    services.confirm_finding(draft)
    a.report_summary = ("Five nonconformities and one observation; the scope remains "
                        "recommended for continued accreditation once they are cleared.")
    a.recommendation = "maintain"
    services.issue_findings(a, today=held + timedelta(days=7))
    a.status = AssessmentStatus.report_issued.value
    a.report_issued_at = utcnow() - timedelta(days=45)
    del overdue  # left unanswered: overdue

    _answer(rejected, cab_user, "actions_completed",
            [_pdf("uncertainty-budget-PU-03-rev3.pdf", "Budget rev 3")],
            correction="Calibrations since January re-evaluated; no certificate affected.",
            cause_analysis="The budget template predates the dead-weight tester.",
            corrective_action="Budget PU-03 revised to rev 3.")
    services.review_response(rejected, accept=False,
                             note="Rev 3 still omits the resolution of the unit under "
                                  "calibration; show its contribution.")
    _answer(rejected, cab_user, "actions_completed",
            [_pdf("uncertainty-budget-PU-03-rev4.pdf", "Budget rev 4"),
             _pdf("training-record-uncertainty.pdf", "Training record")],
            correction="Budget rev 4 includes resolution; certificates re-checked.",
            cause_analysis="The budget template predates the dead-weight tester, and the "
                           "reviewer was not trained on GUM resolution terms.",
            corrective_action="Budget PU-03 rev 4; template updated; reviewer trained.")
    services.review_response(rejected, accept=True, note="Evidence reviewed: budget complete.")

    _answer(minor, cab_user, "plan_only",
            corrective_action="Logger backups to the server every week from next month.")
    services.review_response(minor, accept=True, note="Verify the backups at the next visit.")

    _answer(review, cab_user, "actions_completed",
            [_pdf("pt-P-2031-investigation.pdf", "Investigation")],
            correction="400 bar results withdrawn and customers told.",
            cause_analysis="Zero offset of the transfer standard after transport.",
            corrective_action="Zero check added to the PT procedure; staff briefed.")

    _answer(plan, cab_user, "plan_only",
            correction="The two technicians work under supervision until assessed.",
            cause_analysis="Authorisation was signed before the training record was filed.",
            corrective_action="Competence matrix with a record check before authorisation.")
    services.review_response(plan, accept=True, note="Plan accepted; send the training "
                                                     "records and the new matrix.")


def _findings_in_progress(acc: Accreditation, sam: User, expert: User, today: date) -> None:
    a = _visit(acc, "surveillance", today - timedelta(days=1), 2,
               [(sam, TeamRole.lead), (expert, TeamRole.technical_expert)])
    _finding(a, expert, Severity.minor, "7.2",
             "The validation of the in-house method for nitrate is incomplete.",
             "Validation file WM-12 has no repeatability data at the low range.")
    _finding(a, sam, Severity.major, "6.5",
             "Traceability of the pipettes' calibration is not demonstrated.",
             "Pipette calibrations are done in-house against a balance whose certificate has "
             "no accreditation mark.")
    withdrawn = _finding(a, sam, Severity.minor, "8.3",
                         "Superseded procedure in use.", "SOP-4 rev 2 found at the bench.")
    services.withdraw_finding(withdrawn, "The bench copy was marked 'for training'; not in use.")
    if any(g.severity == Severity.critical for g in services.active_grades()):
        _finding(a, sam, Severity.critical, "7.8",
                 "Reports were issued with results outside the accredited scope as accredited.",
                 "Report W-2291 shows the accreditation mark for microcystin, which is not on "
                 "the schedule.")
