"""Use cases for findings: the tenant's grades, raising and confirming findings (rule 6),
issuing them with the report (rule 14), the CAB's responses (rule 15), review and closure,
critical findings and overdue escalation proposing sanctions (rules 16, 17), handing findings to
a follow-up assessment, and the gate the decisions use (rule 13).

Who may, checked here with the signed-in user (so a refusal is a PermissionDenied whatever calls
it): the team (lead, assessors, technical experts — never observers) raises findings while the
assessment is in progress; a technical expert's finding is a draft until a lead or assessor of
the same assessment confirms it; the CAB's users answer their own CAB's issued findings; the
lead and assessors of the assessment (and managers) review the answers. Without a signed-in user
(CLI, jobs, demo data) the caller is the system.

Every change is audited; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from flask import g
from flask_babel import gettext as _
from sqlalchemy import and_, case, delete, func, or_, select
from sqlalchemy.orm.attributes import set_committed_value

from accreditor.assessments.models import (
    Assessment,
    AssessmentStatus,
    TeamAssignment,
    TeamRole,
)
from accreditor.cabs.models import CabLocation
from accreditor.core import audit
from accreditor.core.db import utcnow
from accreditor.core.errors import Conflict, PermissionDenied, ValidationFailed
from accreditor.core.permissions import Role, acting_user, has_role
from accreditor.core.web import external_url
from accreditor.documents import services as documents
from accreditor.extensions import db
from accreditor.findings.clauses import clauses_for, standard_label
from accreditor.findings.grading import FULL_RESPONSE, PRESETS, Severity
from accreditor.findings.models import (
    ANSWERABLE,
    OPEN_STATUSES,
    UNISSUED,
    ClosureBasis,
    Finding,
    FindingGrade,
    FindingItem,
    FindingResponse,
    FindingStatus,
    ProposalKind,
    ProposalSource,
    ProposalStatus,
    ResponseOutcome,
    ResponseType,
    SanctionProposal,
)
from accreditor.refdata.models import Programme, StandardEdition
from accreditor.scopes.models import (
    LIVE_STATUSES,
    Accreditation,
    AccreditationStatus,
    ItemStatus,
    ScopeItem,
)
from accreditor.tenants.models import TenantPolicy

F = FindingStatus
RESPONSE_OWNER = "finding_response"
OTHER_DOCUMENT = "other"

# Register the evidence files' access rule: staff read them; a CAB user reads current files of
# their own CAB (the documents' default rule, stated here so the owner type is known).
documents.register_owner(RESPONSE_OWNER)


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def staff_link(finding: Finding) -> str:
    return external_url("tenant.findings.show", finding_id=finding.id)


def cab_link(finding: Finding) -> str:
    return external_url("tenant.cab_findings.show", finding_id=finding.id)


# -- grades -------------------------------------------------------------------------------------


def active_grades() -> list[FindingGrade]:
    """The tenant's current grades, most severe first; the policy's preset is copied in the
    first time they are needed."""
    grades = list(db.session.execute(
        select(FindingGrade).where(FindingGrade.is_active)
        .order_by(FindingGrade.position, FindingGrade.id)).scalars())
    if grades:
        return grades
    return copy_preset(TenantPolicy.current().grading_scheme)


def copy_preset(scheme: str, *, record: bool = True) -> list[FindingGrade]:
    label, presets = PRESETS[scheme]
    grades = [FindingGrade(scheme=scheme, key=p.key, label=p.label, description=p.description,
                           severity=p.severity.value, response_due_days=p.response_due_days,
                           evidence_due_days=p.evidence_due_days,
                           closure_requires_evidence=p.closure_requires_evidence,
                           verify_at_next_visit=p.verify_at_next_visit, position=i)
              for i, p in enumerate(presets)]
    db.session.add_all(grades)
    db.session.flush()
    if record:
        audit.record("finding_grades.applied", object_type="FindingGrade", object_id=scheme,
                     changes={"scheme": [None, scheme],
                              "grades": [None, [g.key for g in grades]]})
    return grades


def apply_scheme(scheme: str) -> list[FindingGrade]:
    """Replace the tenant's grades by a preset's. The old grades become inactive (findings keep
    theirs, with the label and behaviour they were raised with)."""
    if scheme not in PRESETS:
        raise ValidationFailed(_("Unknown grading scheme."), field="grading_scheme")
    current = list(db.session.execute(
        select(FindingGrade).where(FindingGrade.is_active)).scalars())
    if current and all(g.scheme == scheme for g in current):
        return current
    for grade in current:
        grade.is_active = False
    db.session.flush()
    return copy_preset(scheme)


GRADE_FIELDS = ("label", "description", "response_due_days", "evidence_due_days",
                "closure_requires_evidence", "verify_at_next_visit")


def update_grade(grade: FindingGrade, **values) -> dict:
    """Adjust a grade's label and behaviour (days empty: the tenant's default). Findings already
    recorded keep what they copied."""
    if not grade.is_active:
        raise Conflict(_("This grade belongs to a scheme no longer in use."))
    values = {k: v for k, v in values.items() if k in GRADE_FIELDS}
    if "label" in values:
        values["label"] = _text(values["label"])
        if not values["label"]:
            raise ValidationFailed(_("Give the grade a name."), field="label")
    if "description" in values:
        values["description"] = _text(values["description"])
    for key in ("response_due_days", "evidence_due_days"):
        if key in values and values[key] in ("", None):
            values[key] = None
        elif key in values:
            try:
                values[key] = int(values[key])
            except (TypeError, ValueError):
                raise ValidationFailed(_("Give a whole number of days."), field=key) from None
            if not 1 <= values[key] <= 730:
                raise ValidationFailed(_("Give 1 to 730 days, or leave empty for the default."),
                                       field=key)
    policy = TenantPolicy.current()
    response = values.get("response_due_days", grade.response_due_days)
    evidence = values.get("evidence_due_days", grade.evidence_due_days)
    if (evidence or policy.evidence_due_days) < (response or policy.response_due_days):
        raise ValidationFailed(_("Evidence cannot be due before the response."),
                               field="evidence_due_days")
    if grade.severity in FULL_RESPONSE and values.get("closure_requires_evidence") is False:
        raise ValidationFailed(_("A critical or major finding always needs accepted evidence to "
                                 "close, not just a plan (rule 15)."),
                               field="closure_requires_evidence")
    for key, value in values.items():
        setattr(grade, key, value)
    changes = audit.diff(grade)
    if changes:
        db.session.flush()
        audit.record("finding_grade.updated", grade, changes=changes)
    return changes


def _grade(grade_id) -> FindingGrade:
    try:
        grade_id = int(grade_id)
    except (TypeError, ValueError):
        raise ValidationFailed(_("Choose a grade."), field="grade_id") from None
    grade = db.session.execute(select(FindingGrade).where(
        FindingGrade.id == grade_id, FindingGrade.is_active)).scalar_one_or_none()
    if grade is None:
        raise ValidationFailed(_("Choose a grade."), field="grade_id")
    return grade


def _copy_grade(finding: Finding, grade: FindingGrade) -> None:
    policy = TenantPolicy.current()
    finding.grade_id = grade.id
    finding.grade_label = grade.label
    finding.severity = grade.severity
    finding.response_due_days = grade.response_due_days or policy.response_due_days
    finding.evidence_due_days = max(grade.evidence_due_days or policy.evidence_due_days,
                                    finding.response_due_days)
    finding.closure_requires_evidence = (grade.closure_requires_evidence
                                         or grade.severity in FULL_RESPONSE)
    finding.verify_at_next_visit = grade.verify_at_next_visit


# -- who may ------------------------------------------------------------------------------------

RAISERS = (TeamRole.lead, TeamRole.assessor, TeamRole.technical_expert)
CONFIRMERS = (TeamRole.lead, TeamRole.assessor)
MANAGERS = (Role.admin, Role.manager)


def team_role(assessment_id: int, user_id: int) -> TeamRole | None:
    role = db.session.execute(select(TeamAssignment.role).where(
        TeamAssignment.assessment_id == assessment_id,
        TeamAssignment.user_id == user_id)).scalar_one_or_none()
    return TeamRole(role) if role else None


def _role_of_actor(assessment_id: int) -> TeamRole | None:
    user = acting_user()
    return team_role(assessment_id, user.id) if user is not None else None


def can_raise(assessment: Assessment, role: TeamRole | None = None) -> bool:
    """The team (not observers) while the assessment is in progress."""
    if assessment.status != AssessmentStatus.in_progress:
        return False
    if acting_user() is None:
        return True
    role = role if role is not None else _role_of_actor(assessment.id)
    return role in RAISERS


def can_confirm(assessment_id: int, role: TeamRole | None = None) -> bool:
    """Rule 6: a lead or assessor of the same assessment (a manager is not enough)."""
    if acting_user() is None:
        return True
    role = role if role is not None else _role_of_actor(assessment_id)
    return role in CONFIRMERS


def can_review(assessment_id: int, role: TeamRole | None = None) -> bool:
    """The lead and assessors of the assessment, and managers."""
    if acting_user() is None or has_role(*MANAGERS):
        return True
    role = role if role is not None else _role_of_actor(assessment_id)
    return role in CONFIRMERS


def can_review_finding(finding: Finding, role: TeamRole | None = None) -> bool:
    """The CAB's answers: as :func:`can_review`, for the finding's assessment or the follow-up
    assessment it was handed to."""
    if can_review(finding.assessment_id, role):
        return True
    return finding.followed_up_in_id is not None and can_review(finding.followed_up_in_id)


def _is_cab_user_of(cab_id: int) -> bool:
    membership = g.get("membership")
    return (membership is not None and membership.is_active and membership.cab_id == cab_id
            and membership.has_any_role(Role.cab_user))


# -- raising ------------------------------------------------------------------------------------


def own_standard(accreditation_id: int) -> str:
    """"ISO/IEC 17025:2017": the standard and edition the accreditation is to."""
    return standard_label(*db.session.execute(
        select(Programme.standard, StandardEdition.edition)
        .join(StandardEdition, StandardEdition.programme_id == Programme.id)
        .join(Accreditation, Accreditation.edition_id == StandardEdition.id)
        .where(Accreditation.id == accreditation_id)).one())


def requirement_standards(accreditation_id: int) -> list[tuple[str, str]]:
    """(value, label) of the requirement documents a finding may cite: the accreditation's
    standard and edition, then another document named in free text."""
    own = own_standard(accreditation_id)
    return [(own, own), (OTHER_DOCUMENT, _("Another document (scheme, IAF/ILAC, AB rules)"))]


def _clean(assessment: Assessment, *, grade_id, standard, clause, other_document=None,
           statement, objective_evidence, item_ids=(), location_codes=()) -> dict:
    grade = _grade(grade_id)
    own = own_standard(assessment.accreditation_id)
    standard, clause = _text(standard), _text(clause)
    if standard == OTHER_DOCUMENT:
        standard = _text(other_document)
        if not standard:
            raise ValidationFailed(_("Name the document the requirement comes from."),
                                   field="other_document")
        if len(standard) > 120:
            raise ValidationFailed(_("Give at most 120 characters."), field="other_document")
    elif standard != own:
        raise ValidationFailed(_("Choose the standard or another document."), field="standard")
    if not clause:
        raise ValidationFailed(_("Give the clause of the requirement."), field="clause")
    if len(clause) > 60:
        raise ValidationFailed(_("Give at most 60 characters."), field="clause")
    listed = clauses_for(standard)
    if listed and clause not in dict(listed):
        raise ValidationFailed(_("Choose a clause of %(s)s.", s=standard), field="clause")
    statement, objective_evidence = _text(statement), _text(objective_evidence)
    if not statement:
        raise ValidationFailed(_("State the nonconformity: the requirement not met."),
                               field="statement")
    if not objective_evidence:
        raise ValidationFailed(_("Record the objective evidence seen."),
                               field="objective_evidence")
    ids = {int(i) for i in item_ids or () if str(i).strip()}
    if not ids and grade.severity == Severity.critical:
        raise ValidationFailed(_("A critical finding names the scope lines it affects: their "
                                 "suspension is proposed at once (rule 16)."), field="item_ids")
    if ids:
        found = set(db.session.execute(select(ScopeItem.id).where(
            ScopeItem.id.in_(ids),
            ScopeItem.accreditation_id == assessment.accreditation_id)).scalars())
        if found != ids:
            raise ValidationFailed(_("Choose scope lines of this accreditation."),
                                   field="item_ids")
    codes = sorted({c.strip() for c in location_codes or () if c and c.strip()})
    if codes:
        known = set(db.session.execute(select(CabLocation.code).where(
            CabLocation.cab_id == assessment.cab_id, CabLocation.code.in_(codes))).scalars())
        if known != set(codes):
            raise ValidationFailed(_("Choose locations of this CAB."), field="location_codes")
    return {"grade": grade, "standard": standard, "clause": clause, "statement": statement,
            "objective_evidence": objective_evidence, "item_ids": ids, "location_codes": codes}


FINDING_FIELDS = ("seq", "grade_label", "severity", "standard", "clause", "statement",
                  "objective_evidence", "location_codes", "status", "raised_as")


def _set_items(finding: Finding, ids: set[int]) -> None:
    db.session.execute(delete(FindingItem).where(FindingItem.finding_id == finding.id))
    db.session.add_all(FindingItem(finding_id=finding.id, cab_id=finding.cab_id,
                                   scope_item_id=i) for i in sorted(ids))


def raise_finding(assessment: Assessment, *, raised_by_id: int | None = None, **data) -> Finding:
    """Record a finding of the assessment. A technical expert's finding is a draft until a lead
    or assessor confirms it (rule 6); a critical one proposes a suspension (rule 16)."""
    user = acting_user()
    raiser = user.id if user is not None else raised_by_id
    role = team_role(assessment.id, raiser) if raiser is not None else None
    if assessment.status != AssessmentStatus.in_progress:
        raise Conflict(_("Findings are raised while the assessment is in progress."),
                       code="assessment_not_in_progress")
    if user is not None and not can_raise(assessment, role):
        raise PermissionDenied(_("Only the lead, assessors and technical experts on the team "
                                 "may raise findings."))
    if raiser is None or role is None or role not in RAISERS:
        raise ValidationFailed(_("A finding is raised by a member of the team."))
    clean = _clean(assessment, **data)
    # Two team members raising at once must not take the same number.
    db.session.execute(select(Assessment.id).where(Assessment.id == assessment.id)
                       .with_for_update())
    seq = (db.session.execute(select(func.max(Finding.seq)).where(
        Finding.assessment_id == assessment.id)).scalar_one() or 0) + 1
    finding = Finding(
        cab_id=assessment.cab_id, assessment_id=assessment.id,
        accreditation_id=assessment.accreditation_id, seq=seq, standard=clean["standard"],
        clause=clean["clause"], statement=clean["statement"],
        objective_evidence=clean["objective_evidence"], location_codes=clean["location_codes"],
        raised_by_id=raiser, raised_as=role.value,
        status=(F.draft if role == TeamRole.technical_expert else F.recorded).value)
    _copy_grade(finding, clean["grade"])
    if finding.status == F.recorded:
        finding.confirmed_by_id, finding.confirmed_at = raiser, utcnow()
    db.session.add(finding)
    db.session.flush()
    _set_items(finding, clean["item_ids"])
    audit.record("finding.raised", finding, changes={
        **audit.snapshot(finding, FINDING_FIELDS),
        "scope_item_ids": [None, sorted(clean["item_ids"])]})
    if finding.status == F.recorded:
        _after_recorded(finding, assessment)
    return finding


def _editable(finding: Finding, role: TeamRole | None = None) -> None:
    if finding.status not in UNISSUED:
        raise Conflict(_("An issued finding cannot be changed; the CAB's answer and the review "
                         "carry it on."))
    user = acting_user()
    if user is None:
        return
    role = role if role is not None else _role_of_actor(finding.assessment_id)
    if role in CONFIRMERS or (role == TeamRole.technical_expert and finding.raised_by_id == user.id
                              and finding.status == F.draft):
        return
    raise PermissionDenied(_("Only the lead and assessors on the team (or the expert who raised "
                             "a draft) may change it."))


def can_edit(finding: Finding, role: TeamRole | None = None) -> bool:
    """Whether the signed-in user may still change or withdraw the finding (``_editable``)."""
    try:
        _editable(finding, role)
    except (Conflict, PermissionDenied):
        return False
    return True


def update_finding(finding: Finding, **data) -> dict:
    _editable(finding)
    assessment = _assessment(finding)
    clean = _clean(assessment, **data)
    before_items = set(finding_item_ids([finding.id]).get(finding.id, ()))
    was_critical = finding.severity == Severity.critical
    if clean["grade"].id != finding.grade_id:
        _copy_grade(finding, clean["grade"])
    for key in ("standard", "clause", "statement", "objective_evidence", "location_codes"):
        setattr(finding, key, clean[key])
    changes = audit.diff(finding)
    if before_items != clean["item_ids"]:
        _set_items(finding, clean["item_ids"])
        changes["scope_item_ids"] = [sorted(before_items), sorted(clean["item_ids"])]
    if changes:
        db.session.flush()
        audit.record("finding.updated", finding, changes=changes)
        if finding.status == F.recorded:
            if was_critical and finding.severity != Severity.critical:
                _dismiss_proposals(finding, _("The finding is no longer graded critical."))
            elif finding.severity == Severity.critical:
                _propose(finding, ProposalSource.critical_finding, assessment.planned_start_on,
                         refresh=True, reopen=not was_critical)
    return changes


def confirm_finding(finding: Finding) -> None:
    """Rule 6: a lead or assessor of the same assessment confirms an expert's draft."""
    if finding.status != F.draft:
        raise Conflict(_("Only a draft finding needs confirming."))
    if not can_confirm(finding.assessment_id):
        raise PermissionDenied(_("A technical expert's finding is confirmed by the lead or an "
                                 "assessor of the same assessment (rule 6)."))
    user = acting_user()
    finding.status = F.recorded.value
    finding.confirmed_by_id = user.id if user is not None else None
    finding.confirmed_at = utcnow()
    changes = audit.diff(finding)
    db.session.flush()
    audit.record("finding.confirmed", finding, changes=changes)
    _after_recorded(finding, _assessment(finding))


def withdraw_finding(finding: Finding, reason: str | None) -> None:
    _editable(finding)
    reason = _text(reason)
    if not reason:
        raise ValidationFailed(_("Give the reason for withdrawing the finding."), field="reason")
    finding.status = F.withdrawn.value
    finding.withdrawn_reason = reason
    changes = audit.diff(finding)
    db.session.flush()
    audit.record("finding.withdrawn", finding, changes=changes)
    _dismiss_proposals(finding, _("The finding was withdrawn: %(r)s", r=reason))


def _assessment(finding: Finding) -> Assessment:
    return db.session.execute(
        select(Assessment).where(Assessment.id == finding.assessment_id)).scalar_one()


def _after_recorded(finding: Finding, assessment: Assessment) -> None:
    if finding.severity == Severity.critical:
        _propose(finding, ProposalSource.critical_finding, assessment.planned_start_on)


# -- issuing with the report (rule 14) ---------------------------------------------------------


def unconfirmed(assessment: Assessment) -> list[Finding]:
    return list(db.session.execute(select(Finding).where(
        Finding.assessment_id == assessment.id, Finding.status == F.draft)
        .order_by(Finding.seq)).scalars())


def issue_findings(assessment: Assessment, *, today: date | None = None) -> list[Finding]:
    """Called when the report is issued: refuses while an expert's draft is unconfirmed (rule 6);
    each recorded finding is issued with due dates from its grade (rule 14) — an observation
    needs no answer and is closed — and the CAB's users are told."""
    drafts = unconfirmed(assessment)
    if drafts:
        raise Conflict(_("Refused (rule 6): finding(s) %(refs)s raised by a technical expert "
                         "must be confirmed by the lead or an assessor, or withdrawn, before "
                         "the report is issued.", refs=", ".join(f.reference for f in drafts)),
                       code="unconfirmed_findings")
    today = today or date.today()
    now = utcnow()
    issued = list(db.session.execute(select(Finding).where(
        Finding.assessment_id == assessment.id, Finding.status == F.recorded)
        .order_by(Finding.seq)).scalars())
    for finding in issued:
        finding.issued_at = now
        if finding.is_nonconformity:
            finding.status = F.open.value
            finding.response_due_on = today + timedelta(days=finding.response_due_days)
            finding.evidence_due_on = today + timedelta(days=finding.evidence_due_days)
        else:
            finding.status = F.closed.value
            finding.closed_at = now
            finding.closure_basis = ClosureBasis.no_response_required.value
        changes = audit.diff(finding)
        db.session.flush()
        audit.record("finding.issued", finding, changes=changes)
    if issued:
        _tell_cab_of_issue(assessment, issued)
    return issued


def _tell_cab_of_issue(assessment: Assessment, issued: list[Finding]) -> None:
    from accreditor.cabs.services import cab_user_emails
    from accreditor.core.mail import send_mail

    answerable = [f for f in issued if f.is_nonconformity]
    link = external_url("tenant.cab_findings.index")
    for email in cab_user_emails(assessment.cab_id):
        send_mail(email, _("Assessment report issued: %(n)d finding(s) to answer",
                           n=len(answerable)), "findings_issued", assessment=assessment,
                  findings=issued, answerable=answerable, link=link)


# -- the CAB's response (rule 15) --------------------------------------------------------------


def submit_response(finding: Finding, *, response_type, correction=None, cause_analysis=None,
                    corrective_action=None, files: Sequence = (),
                    submitted_by_id: int | None = None) -> FindingResponse:
    """One round of the CAB's answer, with its evidence files. Refusals name the field; the
    caller rolls back on any refusal (a refused file included), so nothing is half-saved."""
    user = acting_user()
    if user is not None and not _is_cab_user_of(finding.cab_id):
        raise PermissionDenied(_("Only the CAB's own users answer its findings."))
    # Two of the CAB's users answering at once: the second waits, then sees the first's round.
    # (A plain locked select: the finding may have been loaded with outer-joined relations,
    # which PostgreSQL cannot lock.)
    status, round_ = db.session.execute(
        select(Finding.status, Finding.round).where(Finding.id == finding.id)
        .with_for_update()).one()
    set_committed_value(finding, "status", status)
    set_committed_value(finding, "round", round_)
    if finding.status not in ANSWERABLE:
        raise Conflict(_("This finding is not awaiting an answer from you."),
                       code="finding_not_answerable")
    try:
        response_type = ResponseType(response_type)
    except ValueError:
        raise ValidationFailed(_("Choose the type of response."), field="response_type") from None
    correction, cause_analysis = _text(correction), _text(cause_analysis)
    corrective_action = _text(corrective_action)
    files = [f for f in files or () if f and getattr(f, "filename", None)]
    if finding.severity_enum in FULL_RESPONSE:
        for field, value, message in (
                ("correction", correction, _("Describe the correction made (rule 15).")),
                ("cause_analysis", cause_analysis,
                 _("Give the extent and root-cause analysis (rule 15).")),
                ("corrective_action", corrective_action,
                 _("Describe the corrective action (rule 15)."))):
            if not value:
                raise ValidationFailed(message, field=field)
    elif not (correction or corrective_action):
        raise ValidationFailed(_("Describe the correction or the corrective action."),
                               field="corrective_action")
    if finding.status == F.plan_accepted and response_type == ResponseType.plan_only:
        raise ValidationFailed(_("Your plan was accepted: now send the implementation evidence."),
                               field="response_type")
    if response_type != ResponseType.plan_only and not files:
        raise ValidationFailed(_("Attach the implementation evidence (at least one file)."),
                               field="files")
    finding.round += 1
    response = FindingResponse(
        finding_id=finding.id, cab_id=finding.cab_id, round=finding.round,
        response_type=response_type.value, correction=correction,
        cause_analysis=cause_analysis, corrective_action=corrective_action,
        submitted_by_id=user.id if user is not None else submitted_by_id)
    db.session.add(response)
    db.session.flush()
    for upload in files:
        documents.store_upload(upload, owner_type=RESPONSE_OWNER, owner_id=response.id,
                               cab_id=finding.cab_id)
    finding.status = F.responded.value
    finding.overdue_since = None  # the CAB has answered; a later lapse is marked afresh
    changes = audit.diff(finding)
    db.session.flush()
    audit.record("finding.response_submitted", response, changes={
        **changes, **audit.snapshot(response, ("round", "response_type")),
        "files": [None, len(files)]})
    _tell_reviewers(finding, response)
    return response


def _tell_reviewers(finding: Finding, response: FindingResponse) -> None:
    from accreditor.auth.models import User
    from accreditor.core.mail import send_mail

    emails = db.session.execute(
        select(User.email).join(TeamAssignment, TeamAssignment.user_id == User.id)
        .where(TeamAssignment.assessment_id == finding.assessment_id,
               TeamAssignment.role.in_([r.value for r in CONFIRMERS]))).scalars().all()
    link = staff_link(finding)
    for email in sorted(set(emails)):
        send_mail(email, _("Finding %(ref)s: the CAB has answered", ref=finding.reference),
                  "finding_answered", finding=finding, response=response, link=link)


def current_response(finding: Finding) -> FindingResponse | None:
    return db.session.execute(select(FindingResponse).where(
        FindingResponse.finding_id == finding.id, FindingResponse.round == finding.round)
    ).scalar_one_or_none()


def review_response(finding: Finding, *, accept: bool, note: str | None = None,
                    today: date | None = None) -> FindingResponse:
    """The team accepts or rejects the latest answer. A rejection (with its reason) opens a new
    round; an acceptance closes the finding, or — a plan for a grade that needs evidence — waits
    for the implementation evidence."""
    if not can_review_finding(finding):
        raise PermissionDenied(_("Only the lead and assessors of this assessment, or a manager, "
                                 "review the CAB's answers."))
    if finding.status != F.responded:
        raise Conflict(_("There is no answer awaiting review."), code="nothing_to_review")
    response = current_response(finding)
    note = _text(note)
    if not accept and not note:
        raise ValidationFailed(_("Give the reason for rejecting the answer: the CAB sees it."),
                               field="note")
    user = acting_user()
    response.outcome = (ResponseOutcome.accepted if accept else ResponseOutcome.rejected).value
    response.review_note = note
    response.reviewed_by_id = user.id if user is not None else None
    response.reviewed_at = utcnow()
    if not accept:
        # Evidence rejected after an accepted plan: the plan still stands.
        plan_stands = db.session.execute(select(FindingResponse.id).where(
            FindingResponse.finding_id == finding.id, FindingResponse.id != response.id,
            FindingResponse.response_type == ResponseType.plan_only.value,
            FindingResponse.outcome == ResponseOutcome.accepted.value).limit(1)).first()
        finding.status = (F.plan_accepted if plan_stands else F.open).value
    elif response.response_type == ResponseType.plan_only and finding.closure_requires_evidence:
        finding.status = F.plan_accepted.value
    else:
        basis = (ClosureBasis.plan_accepted if response.response_type == ResponseType.plan_only
                 else ClosureBasis.evidence_accepted)
        _close(finding, basis, today=today)
    changes = audit.diff(finding)
    db.session.flush()
    audit.record("finding.response_accepted" if accept else "finding.response_rejected",
                 response, changes={**changes, "outcome": [None, response.outcome],
                                    "review_note": [None, note]})
    _tell_cab_of_review(finding, response)
    return response


def _close(finding: Finding, basis: ClosureBasis, *, today: date | None = None) -> None:
    user = acting_user()
    today = today or date.today()
    finding.status = F.closed.value
    finding.closed_at = utcnow()
    finding.closed_by_id = user.id if user is not None else None
    finding.closure_basis = basis.value
    finding.overdue_since = None
    if finding.issued_at is not None:
        finding.days_to_close = max(0, (today - finding.issued_at.date()).days)
    if basis != ClosureBasis.plan_accepted:
        finding.verify_at_next_visit = False
    _dismiss_proposals(finding, _("The finding was closed."), only=ProposalSource.overdue_finding)


def _tell_cab_of_review(finding: Finding, response: FindingResponse) -> None:
    from accreditor.cabs.services import cab_user_emails
    from accreditor.core.mail import send_mail

    subject = (_("Finding %(ref)s: your answer was accepted", ref=finding.reference)
               if response.outcome == ResponseOutcome.accepted else
               _("Finding %(ref)s: your answer was not accepted", ref=finding.reference))
    link = cab_link(finding)
    for email in cab_user_emails(finding.cab_id):
        send_mail(email, subject, "finding_reviewed", finding=finding, response=response,
                  link=link)


def can_extend() -> bool:
    """Managers agree new due dates."""
    return acting_user() is None or has_role(*MANAGERS)


def extend_due_dates(finding: Finding, *, response_due_on: date | None,
                     evidence_due_on: date | None, reason: str | None) -> dict:
    """A manager agrees later due dates with the CAB (never earlier ones), with a reason."""
    if not can_extend():
        raise PermissionDenied(_("Only a manager agrees new due dates."))
    if finding.status not in OPEN_STATUSES:
        raise Conflict(_("Only an open finding's due dates can change."))
    reason = _text(reason)
    if not reason:
        raise ValidationFailed(_("Give the reason for the new due dates."), field="reason")
    response_due_on = response_due_on or finding.response_due_on
    evidence_due_on = evidence_due_on or finding.evidence_due_on
    if response_due_on < finding.response_due_on:
        raise ValidationFailed(_("A due date can be extended, not brought forward."),
                               field="response_due_on")
    if evidence_due_on < finding.evidence_due_on:
        raise ValidationFailed(_("A due date can be extended, not brought forward."),
                               field="evidence_due_on")
    if evidence_due_on < response_due_on:
        raise ValidationFailed(_("Evidence cannot be due before the response."),
                               field="evidence_due_on")
    finding.response_due_on, finding.evidence_due_on = response_due_on, evidence_due_on
    changes = audit.diff(finding)
    if changes:
        finding.overdue_since = None
        changes = audit.diff(finding)
        db.session.flush()
        audit.record("finding.due_dates_extended", finding,
                     changes={**changes, "reason": [None, reason]})
        _dismiss_proposals(finding, _("New due dates were agreed: %(r)s", r=reason),
                           only=ProposalSource.overdue_finding)
    return changes


# -- follow-up, verification, the gates (rule 13) ---------------------------------------------


def follow_up_candidates(finding: Finding) -> list[Assessment]:
    return list(db.session.execute(select(Assessment).where(
        Assessment.accreditation_id == finding.accreditation_id,
        Assessment.id != finding.assessment_id,
        Assessment.status.notin_([AssessmentStatus.closed.value,
                                  AssessmentStatus.cancelled.value]))
        .order_by(Assessment.planned_start_on)).scalars())


def can_hand_over(assessment_id: int, role: TeamRole | None = None) -> bool:
    """The lead assessor of the assessment, or a manager."""
    if acting_user() is None or has_role(*MANAGERS):
        return True
    role = role if role is not None else _role_of_actor(assessment_id)
    return role == TeamRole.lead


def hand_over(finding: Finding, follow_up_id, reason: str | None) -> None:
    """Record that a later assessment of the same accreditation follows an open finding up, so
    this assessment can be closed. The finding stays open (and still blocks a grant)."""
    if not can_hand_over(finding.assessment_id):
        raise PermissionDenied(_("Only the lead assessor or a manager hands findings over."))
    if finding.status not in OPEN_STATUSES:
        raise Conflict(_("Only an open finding is handed to a follow-up assessment."))
    reason = _text(reason)
    if not reason:
        raise ValidationFailed(_("Give the reason for following it up later."), field="reason")
    candidates = {a.id: a for a in follow_up_candidates(finding)}
    try:
        target = candidates.get(int(follow_up_id))
    except (TypeError, ValueError):
        target = None
    if target is None:
        raise ValidationFailed(_("Choose a planned assessment of the same accreditation."),
                               field="follow_up_id")
    finding.followed_up_in_id, finding.follow_up_reason = target.id, reason
    changes = audit.diff(finding)
    db.session.flush()
    audit.record("finding.handed_over", finding, changes=changes)


def to_verify_at(assessment: Assessment) -> list[Finding]:
    """Findings closed on an accepted plan that this later visit should verify on site."""
    return list(db.session.execute(select(Finding).join(
        Assessment, Assessment.id == Finding.assessment_id).where(
        Finding.accreditation_id == assessment.accreditation_id,
        Finding.assessment_id != assessment.id, Finding.status == F.closed,
        Finding.verify_at_next_visit, Finding.verified_at.is_(None),
        Assessment.planned_start_on < assessment.planned_start_on)
        .order_by(Finding.assessment_id, Finding.seq)).scalars())


def verify_on_site(finding: Finding, assessment: Assessment) -> None:
    if not (acting_user() is None or has_role(*MANAGERS)
            or _role_of_actor(assessment.id) in CONFIRMERS):
        raise PermissionDenied(_("The lead and assessors of the visit record the verification."))
    if assessment.status != AssessmentStatus.in_progress:
        raise Conflict(_("Record the verification while the visit is in progress."))
    if finding.id not in {f.id for f in to_verify_at(assessment)}:
        raise Conflict(_("This finding does not await verification at this visit."))
    finding.verified_at, finding.verified_in_id = utcnow(), assessment.id
    changes = audit.diff(finding)
    db.session.flush()
    audit.record("finding.verified_on_site", finding, changes=changes)


def _blocking(for_grant: bool = False):
    """The condition of :func:`open_blocking_findings` on one finding."""
    blocking = Finding.status.in_(OPEN_STATUSES + UNISSUED)
    if for_grant:
        # Closed on a plan alone and not yet verified on site.
        blocking = or_(blocking, and_(Finding.status == F.closed.value,
                                      Finding.closure_basis == ClosureBasis.plan_accepted.value,
                                      Finding.verified_at.is_(None)))
    return and_(Finding.severity != Severity.observation.value, blocking)


def blocking_counts(accreditation_ids: Iterable[int], *, for_grant: bool = False
                    ) -> dict[int, int]:
    """How many blocking findings each accreditation has (one grouped statement)."""
    ids = list(accreditation_ids)
    if not ids:
        return {}
    return dict(db.session.execute(
        select(Finding.accreditation_id, func.count(Finding.id))
        .where(Finding.accreditation_id.in_(ids), _blocking(for_grant))
        .group_by(Finding.accreditation_id)).all())


def open_blocking_findings(target: Accreditation | Assessment, *, for_grant: bool = False
                           ) -> list[Finding]:
    """Nonconformities not closed (an accepted plan awaiting evidence still blocks) of an
    accreditation's assessments, or of one assessment (its own and those handed to it): a grant
    or extension decision is refused while any exists (rule 13). ``for_grant`` also counts
    findings closed on an accepted plan alone and not yet verified on site — for an initial
    grant or an extension every nonconformity is corrected with evidence (DOMAIN.md §2.8:
    SAMM, UKAS)."""
    if isinstance(target, Accreditation):
        where = Finding.accreditation_id == target.id
    else:
        where = or_(Finding.assessment_id == target.id, Finding.followed_up_in_id == target.id)
    return list(db.session.execute(select(Finding).where(where, _blocking(for_grant))
                                   .order_by(Finding.assessment_id, Finding.seq)).scalars())


def unhanded_open(assessment: Assessment) -> list[Finding]:
    """Open nonconformities this assessment must see closed: its own not handed to a follow-up
    assessment, and those handed to it."""
    return [f for f in open_blocking_findings(assessment)
            if f.followed_up_in_id in (None, assessment.id)]


def handed_to(assessment: Assessment) -> list[Finding]:
    """Open findings of earlier assessments that this one follows up."""
    return list(db.session.execute(select(Finding).where(
        Finding.followed_up_in_id == assessment.id, Finding.status.in_(OPEN_STATUSES))
        .order_by(Finding.assessment_id, Finding.seq)).scalars())


def check_closable(assessment: Assessment) -> None:
    """An assessment closes only when its findings are closed or handed to a follow-up
    assessment (called by ``close_assessment``)."""
    blocking = unhanded_open(assessment)
    if blocking:
        raise Conflict(_("Findings %(refs)s are still open: close them, or hand them to a "
                         "follow-up assessment, before closing the assessment.",
                         refs=", ".join(f.reference for f in blocking)), code="open_findings")


# -- proposed sanctions (rules 16, 17) ---------------------------------------------------------


def _propose(finding: Finding, source: ProposalSource, effective_on: date, *,
             refresh: bool = False, reopen: bool = False) -> SanctionProposal | None:
    """Propose a sanction for ``finding`` once: a critical finding's suspension (``refresh``
    keeps its lines in step with the finding's; ``reopen`` brings back one dismissed when the
    finding was downgraded and is critical again), or an escalation once per evidence due date.
    Nothing for an accreditation that is no longer live."""
    due_on = finding.evidence_due_on if source == ProposalSource.overdue_finding else effective_on
    existing = db.session.execute(select(SanctionProposal).where(
        SanctionProposal.finding_id == finding.id, SanctionProposal.source == source.value,
        SanctionProposal.due_on == due_on)).scalar_one_or_none()
    items = sorted(finding_item_ids([finding.id]).get(finding.id, ()))
    if existing is not None:
        if reopen and existing.status == ProposalStatus.dismissed:
            existing.status = ProposalStatus.proposed.value
            existing.resolved_at = existing.resolved_by_id = existing.resolution = None
            existing.scope_item_ids = items
            changes = audit.diff(existing)
            db.session.flush()
            audit.record("sanction_proposal.reopened", existing, changes=changes)
        elif refresh and existing.status == ProposalStatus.proposed and \
                existing.scope_item_ids != items:
            existing.scope_item_ids = items
            changes = audit.diff(existing)
            db.session.flush()
            audit.record("sanction_proposal.updated", existing, changes=changes)
        return None
    status = db.session.execute(select(Accreditation.status).where(
        Accreditation.id == finding.accreditation_id)).scalar_one()
    if status not in {s.value for s in LIVE_STATUSES}:
        return None
    applied_only = bool(items) and not db.session.execute(select(ScopeItem.id).where(
        ScopeItem.id.in_(items), ScopeItem.status != ItemStatus.applied.value).limit(1)).first()
    # An applicant, or lines only asked for (an extension): refuse them; otherwise suspend.
    kind = (ProposalKind.refusal if status == AccreditationStatus.applicant or applied_only
            else ProposalKind.suspension)
    if source == ProposalSource.critical_finding:
        reason = _("Critical finding %(ref)s (%(grade)s): immediate suspension of the affected "
                   "scope, effective the assessment date, pending decision.",
                   ref=finding.reference, grade=finding.grade_label)
    else:
        reason = _("Finding %(ref)s (%(grade)s) is still open after its evidence due date "
                   "(%(due)s) and the grace period.", ref=finding.reference,
                   grade=finding.grade_label, due=finding.evidence_due_on.isoformat())
    if not items:
        reason += " " + _("The finding names no scope line: the whole scope is concerned.")
    proposal = SanctionProposal(
        cab_id=finding.cab_id, accreditation_id=finding.accreditation_id, finding_id=finding.id,
        kind=kind.value, source=source.value, scope_item_ids=items, effective_on=effective_on,
        due_on=due_on, reason=reason)
    db.session.add(proposal)
    db.session.flush()
    audit.record("sanction_proposal.created", proposal, changes=audit.snapshot(
        proposal, ("kind", "source", "finding_id", "scope_item_ids", "effective_on", "reason")))
    _tell_case_manager_of_proposal(proposal, finding)
    return proposal


def _tell_case_manager_of_proposal(proposal: SanctionProposal, finding: Finding) -> None:
    from accreditor.core.mail import send_mail

    link = staff_link(finding)
    for email in manager_emails(finding.cab_id):
        send_mail(email, _("Proposed %(kind)s: finding %(ref)s", kind=proposal.kind,
                           ref=finding.reference), "sanction_proposed", proposal=proposal,
                  finding=finding, link=link)


def manager_emails(cab_id: int) -> list[str]:
    """The CAB's case manager, or (none named) the tenant's active managers."""
    from accreditor.auth.models import Membership, MembershipRole, User
    from accreditor.cabs.services import case_manager_email

    email = case_manager_email(cab_id)
    if email:
        return [email]
    return sorted(set(db.session.execute(
        select(User.email).join(Membership, Membership.user_id == User.id)
        .join(MembershipRole, MembershipRole.membership_id == Membership.id)
        .where(Membership.is_active, MembershipRole.role == Role.manager.value)).scalars()))


def _dismiss_proposals(finding: Finding, resolution: str,
                       only: ProposalSource | None = None) -> None:
    stmt = select(SanctionProposal).where(SanctionProposal.finding_id == finding.id,
                                          SanctionProposal.status == ProposalStatus.proposed)
    if only is not None:
        stmt = stmt.where(SanctionProposal.source == only.value)
    for proposal in db.session.execute(stmt).scalars():
        _resolve(proposal, ProposalStatus.dismissed, resolution)


def _resolve(proposal: SanctionProposal, status: ProposalStatus, resolution: str) -> None:
    user = acting_user()
    proposal.status = status.value
    proposal.resolution = resolution
    proposal.resolved_at = utcnow()
    proposal.resolved_by_id = user.id if user is not None else None
    changes = audit.diff(proposal)
    db.session.flush()
    audit.record(f"sanction_proposal.{status.value}", proposal, changes=changes)


def dismiss_proposal(proposal: SanctionProposal, reason: str | None) -> None:
    """The manager decides not to take a proposal to a decision, and says why."""
    if acting_user() is not None and not has_role(*MANAGERS):
        raise PermissionDenied(_("Only a manager dismisses a proposed sanction."))
    if proposal.status != ProposalStatus.proposed:
        raise Conflict(_("This proposal has already been dealt with."))
    reason = _text(reason)
    if not reason:
        raise ValidationFailed(_("Give the reason for not proposing the sanction."),
                               field="reason")
    _resolve(proposal, ProposalStatus.dismissed, reason)


# -- reading ------------------------------------------------------------------------------------

# Staff roles that list every finding of the tenant; the others (assessors) list those of their
# assessments.
SEE_ALL = (Role.admin, Role.manager, Role.decision_maker)


def sees_all_findings() -> bool:
    return acting_user() is None or has_role(*SEE_ALL)


def listed_for(user_id: int):
    """Condition on Finding: what an assessor lists — the findings of the assessments they are
    on, and those handed to an assessment they are on."""
    mine = select(TeamAssignment.assessment_id).where(TeamAssignment.user_id == user_id)
    return or_(Finding.assessment_id.in_(mine), Finding.followed_up_in_id.in_(mine))


def awaiting_review_by(user_id: int):
    """Condition on Finding: what awaits ``user_id`` — answered findings they review (as lead
    or assessor of the assessment or of the follow-up it was handed to, or, a manager, as the
    CAB's case manager) and technical experts' drafts they confirm (rule 6)."""
    from accreditor.cabs.models import Cab

    reviewer_of = select(TeamAssignment.assessment_id).where(
        TeamAssignment.user_id == user_id,
        TeamAssignment.role.in_([r.value for r in CONFIRMERS]))
    mine = or_(Finding.assessment_id.in_(reviewer_of), Finding.followed_up_in_id.in_(reviewer_of))
    if has_role(*MANAGERS):
        mine = or_(mine, Finding.cab_id.in_(select(Cab.id).where(Cab.manager_id == user_id)))
    return or_(and_(Finding.status == F.responded.value, mine),
               and_(Finding.status == F.draft.value, Finding.assessment_id.in_(reviewer_of)))


def due_column():
    """SQL for :meth:`Finding.due_on`: the response due date until the first answer, then the
    evidence due date; NULL when it is not the CAB's turn."""
    return case(
        (and_(Finding.status == F.open.value, Finding.round == 0), Finding.response_due_on),
        (Finding.status.in_(ANSWERABLE), Finding.evidence_due_on),
        else_=None)


def overdue_condition(today: date):
    """SQL for :meth:`Finding.overdue_on`."""
    return or_(
        and_(Finding.status == F.open.value, Finding.round == 0, Finding.response_due_on < today),
        and_(Finding.status.in_(ANSWERABLE),
             or_(Finding.status != F.open.value, Finding.round > 0),
             Finding.evidence_due_on < today))


def finding_item_ids(finding_ids: Iterable[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    ids = list(finding_ids)
    if not ids:
        return out
    for fid, sid in db.session.execute(select(FindingItem.finding_id, FindingItem.scope_item_id)
                                       .where(FindingItem.finding_id.in_(ids))
                                       .order_by(FindingItem.scope_item_id)):
        out.setdefault(fid, []).append(sid)
    return out


def affected_lines(finding: Finding) -> list:
    """(position, summary) of the scope lines the finding affects, in scope order."""
    return db.session.execute(
        select(ScopeItem.position, ScopeItem.summary)
        .join(FindingItem, FindingItem.scope_item_id == ScopeItem.id)
        .where(FindingItem.finding_id == finding.id)
        .order_by(ScopeItem.position, ScopeItem.id)).all()


def affected_locations(finding: Finding) -> dict[str, CabLocation]:
    """The CAB's locations the finding names, by code (a code no longer known is absent)."""
    codes = list(finding.location_codes or [])
    if not codes:
        return {}
    return {loc.code: loc for loc in db.session.execute(
        select(CabLocation).where(CabLocation.cab_id == finding.cab_id,
                                  CabLocation.code.in_(codes))).scalars()}


def responses_of(finding: Finding) -> list[FindingResponse]:
    return list(db.session.execute(select(FindingResponse).where(
        FindingResponse.finding_id == finding.id).order_by(FindingResponse.round)).scalars())


def evidence_by_response(responses: Sequence[FindingResponse]) -> dict[int, list]:
    """Current evidence documents of each response, in one query."""
    from accreditor.documents.models import Document

    out: dict[int, list] = {r.id: [] for r in responses}
    if not out:
        return out
    for doc in db.session.execute(select(Document).where(
            Document.owner_type == RESPONSE_OWNER, Document.owner_id.in_(list(out)),
            Document.superseded_at.is_(None)).order_by(Document.id)).scalars():
        out[doc.owner_id].append(doc)
    return out

