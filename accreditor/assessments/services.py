"""Use cases for assessments: create and edit (rule 36), the sample, the risk consideration
(rule 40), the estimate, and the lifecycle draft → team proposed → team confirmed → plan approved
→ in progress → report issued → closed. Team appointment and objections live in ``team.py``.

Who may: admins and managers plan (the views gate it); the agenda, internal notes and report
are written by managers and the lead and assessors on the team, the lead (or a manager) starts
the assessment, issues the report and records the actual days — checked here with the signed-in
user (``can_write``/``can_lead``), so a refusal is a PermissionDenied whatever calls it. Without
a signed-in user (CLI, jobs, demo data) the caller is the system.

Every change is audited; refusals name the rule. Nothing here commits.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, and_, cast, delete, func, or_, select
from sqlalchemy.orm import aliased

from accreditor.assessments import team as team_services
from accreditor.assessments.estimator import Estimate, estimate_days
from accreditor.assessments.models import (
    Assessment,
    AssessmentItem,
    AssessmentMode,
    AssessmentStatus,
    AssessmentType,
    TeamAssignment,
    TeamObjection,
    TeamRole,
)
from accreditor.auth.models import User
from accreditor.cabs.models import CabLocation
from accreditor.core import audit
from accreditor.core.audit import AuditEvent
from accreditor.core.db import utcnow
from accreditor.core.errors import Conflict, PermissionDenied, ValidationFailed
from accreditor.core.permissions import Role, acting_user, has_role
from accreditor.core.tenancy import insert_rows
from accreditor.extensions import db
from accreditor.scopes import services as scope_services
from accreditor.scopes.models import Accreditation, ItemStatus, ScopeItem

# Re-exported so callers need one module for the whole lifecycle.
from accreditor.assessments.team import (  # noqa: E402,F401  isort: skip
    check_team, confirm_team, propose_team, raise_objection, record_objection, reopen_team,
    resolve_objection, waive_objection_window)

S = AssessmentStatus
SAMPLEABLE = (ItemStatus.accredited.value, ItemStatus.applied.value)


def sampleable():
    """Condition on ScopeItem: the lines an assessment may sample — accredited or requested,
    never a line of an application the CAB has not submitted yet."""
    return and_(ScopeItem.status.in_(SAMPLEABLE), scope_services.line_visible_to_staff())
# Until the plan is approved the plan itself (dates, sample, mode) may change.
PLAN_EDITABLE = frozenset({S.draft, S.team_proposed, S.team_confirmed})

RECOMMENDATIONS = {
    "grant": _l("Grant"),
    "maintain": _l("Maintain"),
    "extend": _l("Extend the scope"),
    "reduce": _l("Reduce the scope"),
    "suspend": _l("Suspend"),
    "reinstate": _l("Reinstate (lift the suspension)"),
    "withdraw": _l("Withdraw"),
    "refuse": _l("Refuse"),
    "further_assessment": _l("Further assessment needed"),
}

FIELDS = ("type", "mode", "planned_start_on", "planned_end_on", "location_codes",
          "remote_justification", "ict_risk_note", "onsite_not_applicable",
          "onsite_not_applicable_reason", "internal_notes")


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


def _clean(accreditation: Accreditation, *, type, mode, planned_start_on, planned_end_on,
           location_codes, remote_justification, ict_risk_note, onsite_not_applicable,
           onsite_not_applicable_reason, internal_notes) -> dict:
    try:
        type_ = AssessmentType(type)
    except ValueError:
        raise ValidationFailed(_("Choose the type of assessment."), field="type") from None
    try:
        mode_ = AssessmentMode(mode or AssessmentMode.onsite)
    except ValueError:
        raise ValidationFailed(_("Choose on-site, remote or hybrid."), field="mode") from None
    if planned_start_on is None or planned_end_on is None:
        raise ValidationFailed(_("Give the planned start and end dates."),
                               field="planned_start_on")
    if planned_end_on < planned_start_on:
        raise ValidationFailed(_("The end date is before the start date."),
                               field="planned_end_on")
    remote_justification, ict_risk_note = _text(remote_justification), _text(ict_risk_note)
    if mode_ != AssessmentMode.onsite:
        if not remote_justification:
            raise ValidationFailed(_("Refused (rule 36): a remote or hybrid assessment needs the "
                                     "justification for remote means (IAF MD 4)."),
                                   field="remote_justification")
        if not ict_risk_note:
            raise ValidationFailed(_("Refused (rule 36): a remote or hybrid assessment needs an "
                                     "ICT risk note (IAF MD 4)."), field="ict_risk_note")
    onsite_not_applicable_reason = _text(onsite_not_applicable_reason)
    if onsite_not_applicable and mode_ == AssessmentMode.onsite:
        raise ValidationFailed(_("Only a remote or hybrid assessment can be marked “on-site not "
                                 "applicable” (rule 9)."), field="onsite_not_applicable")
    if onsite_not_applicable and not onsite_not_applicable_reason:
        raise ValidationFailed(_("Say why on-site assessment is not applicable (force majeure, "
                                 "a crisis, a virtual site — rule 9)."),
                               field="onsite_not_applicable_reason")
    codes = [str(c).strip() for c in (location_codes or []) if str(c).strip()]
    known = set(db.session.execute(
        select(CabLocation.code).where(CabLocation.cab_id == accreditation.cab_id,
                                       CabLocation.is_active)).scalars())
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValidationFailed(_("Not a location of this CAB: %(c)s (known: %(k)s).",
                                 c=", ".join(unknown), k=", ".join(sorted(known)) or "-"),
                               field="location_codes")
    return {"type": type_.value, "mode": mode_.value, "planned_start_on": planned_start_on,
            "planned_end_on": planned_end_on, "location_codes": list(dict.fromkeys(codes)),
            "remote_justification": remote_justification if mode_ != AssessmentMode.onsite
            else None,
            "ict_risk_note": ict_risk_note if mode_ != AssessmentMode.onsite else None,
            "onsite_not_applicable": bool(onsite_not_applicable),
            "onsite_not_applicable_reason": onsite_not_applicable_reason
            if onsite_not_applicable else None,
            "internal_notes": _text(internal_notes)}


def create_assessment(accreditation: Accreditation, type, mode, planned_start_on: date,
                      planned_end_on: date, location_codes=(), remote_justification=None,
                      ict_risk_note=None, onsite_not_applicable=False,
                      onsite_not_applicable_reason=None, internal_notes=None) -> Assessment:
    """A draft assessment of a live accreditation; remote/hybrid need the MD 4 justification and
    an ICT risk note (rule 36); dates ordered; locations of the CAB. Raises ValidationFailed, or
    Conflict for an accreditation that is withdrawn, refused, lapsed or expired."""
    if not accreditation.is_live:
        raise Conflict(_("This accreditation is %(s)s; no assessment can be planned for it.",
                         s=accreditation.status.replace("_", " ")), code="accreditation_closed")
    values = _clean(accreditation, type=type, mode=mode, planned_start_on=planned_start_on,
                    planned_end_on=planned_end_on, location_codes=location_codes,
                    remote_justification=remote_justification, ict_risk_note=ict_risk_note,
                    onsite_not_applicable=onsite_not_applicable,
                    onsite_not_applicable_reason=onsite_not_applicable_reason,
                    internal_notes=internal_notes)
    assessment = Assessment(cab_id=accreditation.cab_id, accreditation_id=accreditation.id,
                            status=S.draft.value, **values)
    db.session.add(assessment)
    db.session.flush()
    refresh_estimate(assessment)
    audit.record("assessment.created", assessment,
                 changes=audit.snapshot(assessment, FIELDS + ("accreditation_id",)))
    return assessment


def _accreditation(assessment: Assessment) -> Accreditation:
    return db.session.execute(
        select(Accreditation).where(Accreditation.id == assessment.accreditation_id)).scalar_one()


def update_assessment(assessment: Assessment, **data) -> dict:
    """Change the plan's details while the plan is not yet approved (rule 36 as on creation).
    Returns the audited changes."""
    if assessment.status_enum not in PLAN_EDITABLE:
        raise Conflict(_("The plan is approved; its details can no longer change."))
    current = {f: getattr(assessment, f) for f in FIELDS}
    current.update({k: v for k, v in data.items() if k in FIELDS})
    values = _clean(_accreditation(assessment), **current)
    if (values["planned_start_on"], values["planned_end_on"]) != (
            assessment.planned_start_on, assessment.planned_end_on) \
            and assessment.status_enum != S.draft:
        # New dates change availability and currency: the team is checked again.
        team_services._refuse(check_team(
            assessment, team_services.members_of(assessment),
            start=values["planned_start_on"], end=values["planned_end_on"]))
    for key, value in values.items():
        setattr(assessment, key, value)
    changes = audit.diff(assessment)
    if changes:
        db.session.flush()
        before = assessment.estimated_days
        refresh_estimate(assessment)
        if assessment.estimated_days != before:  # the estimate is kept for calibration
            changes["estimated_days"] = [before, assessment.estimated_days]
        audit.record("assessment.updated", assessment, changes=changes)
    return changes


def update_agenda(assessment: Assessment, agenda: str | None) -> None:
    """The plan's agenda (shared with the CAB); managers and the team's lead and assessors may
    edit it until the report is issued."""
    _require(assessment, TEAM_WRITERS, _("Only managers and the assessment team may change the "
                                         "agenda."))
    if assessment.status_enum in {S.report_issued, S.closed, S.cancelled}:
        raise Conflict(_("The agenda can no longer change."))
    assessment.agenda = _text(agenda)
    changes = audit.diff(assessment)
    if changes:
        db.session.flush()
        audit.record("assessment.agenda_updated", assessment, changes=changes)


def update_internal_notes(assessment: Assessment, notes: str | None) -> None:
    """The AB's internal notes (never shown to the CAB); managers and the team keep them, at any
    stage."""
    _require(assessment, TEAM_WRITERS, _("Only managers and the assessment team may change the "
                                         "internal notes."))
    assessment.internal_notes = _text(notes)
    changes = audit.diff(assessment)
    if changes:
        db.session.flush()
        audit.record("assessment.notes_updated", assessment, changes=changes)


# -- who may do what ----------------------------------------------------------------------------

PLANNERS = (Role.admin, Role.manager)
# Team roles whose holders write the plan's agenda, notes and report (not experts or observers,
# who have no authority to raise findings).
TEAM_WRITERS = (TeamRole.lead, TeamRole.assessor)
LEAD_ONLY = (TeamRole.lead,)


def _may(assessment: Assessment, team_roles: tuple[TeamRole, ...],
         team: list[tuple[int, TeamRole]] | None = None) -> bool:
    """Admins and managers may; otherwise only a team member in one of ``team_roles``. Without a
    signed-in user (CLI, jobs, demo data) the caller is the system and may."""
    user = acting_user()
    if user is None or has_role(*PLANNERS):
        return True
    members = team if team is not None else team_services.members_of(assessment)
    return any(uid == user.id and role in team_roles for uid, role in members)


def _require(assessment: Assessment, team_roles: tuple[TeamRole, ...], message: str) -> None:
    if not _may(assessment, team_roles):
        raise PermissionDenied(message)


def can_plan() -> bool:
    """Details, sample, risk, team and the plan's transitions: admins and managers."""
    return acting_user() is None or has_role(*PLANNERS)


def can_write(assessment: Assessment, team=None) -> bool:
    """Agenda, internal notes and the report: managers, and the lead and assessors on the team."""
    return _may(assessment, TEAM_WRITERS, team)


def can_lead(assessment: Assessment, team=None) -> bool:
    """Start the assessment, issue the report, record the actual days: managers or the lead."""
    return _may(assessment, LEAD_ONLY, team)


# -- sample -------------------------------------------------------------------------------------


def sample_ids(assessment: Assessment) -> set[int]:
    return set(db.session.execute(
        select(AssessmentItem.scope_item_id).where(AssessmentItem.assessment_id == assessment.id)
    ).scalars())


def _ids(values) -> set[int]:
    try:
        return {int(i) for i in values or []}
    except (TypeError, ValueError):
        raise ValidationFailed(_("The list of lines was not understood; reload the page."),
                               field="item_ids") from None


def set_sample(assessment: Assessment, item_ids, *, only_ids=None,
               location_codes=None) -> dict:
    """Replace the sampled scope lines: accredited or requested lines of this accreditation only.
    With ``only_ids`` (the lines a page showed) only those lines change, so a page of a long
    scope leaves the rest of the sample alone. With ``location_codes`` the sampled locations
    change too. Raises ValidationFailed naming a line that does not qualify."""
    if assessment.status_enum not in PLAN_EDITABLE:
        raise Conflict(_("The plan is approved; the sample can no longer change."))
    chosen = _ids(item_ids)
    before = sample_ids(assessment)
    if only_ids is not None:
        shown = _ids(only_ids)
        if chosen - shown:
            raise ValidationFailed(_("The list of lines was not understood; reload the page."),
                                   field="item_ids")
        wanted = (before - shown) | chosen
    else:
        wanted = chosen
    bad = sorted(chosen - set(sampleable_ids(assessment)))
    if bad:
        raise ValidationFailed(_("Only accredited or requested lines of this accreditation can be "
                                 "sampled (not: %(ids)s).", ids=", ".join(map(str, bad[:10]))),
                               field="item_ids")
    if location_codes is not None:
        update_assessment(assessment, location_codes=list(location_codes))
    removed, added = before - wanted, wanted - before
    if removed:
        db.session.execute(delete(AssessmentItem).where(
            AssessmentItem.assessment_id == assessment.id,
            AssessmentItem.scope_item_id.in_(sorted(removed))))
    db.session.flush()
    insert_rows(AssessmentItem, [{"cab_id": assessment.cab_id, "assessment_id": assessment.id,
                                  "scope_item_id": i} for i in sorted(added)])
    if added or removed:
        estimated = assessment.estimated_days
        refresh_estimate(assessment)
        changes = {"added": [None, sorted(added)], "removed": [sorted(removed), None],
                   "sample_size": [len(before), len(wanted)]}
        if assessment.estimated_days != estimated:  # the estimate is kept for calibration
            changes["estimated_days"] = [estimated, assessment.estimated_days]
        audit.record("assessment.sample_changed", assessment, changes=changes)
    return {"added": sorted(added), "removed": sorted(removed)}


def sample_all(assessment: Assessment) -> dict:
    """Sample every current line of the accreditation (accredited, and requested ones)."""
    return set_sample(assessment, sampleable_ids(assessment))


def sampleable_ids(assessment: Assessment) -> list[int]:
    return list(db.session.execute(
        select(ScopeItem.id).where(ScopeItem.accreditation_id == assessment.accreditation_id,
                                   sampleable())
        .order_by(ScopeItem.position, ScopeItem.id)).scalars())


def sampleable_lines(assessment: Assessment, *, limit: int, offset: int = 0) -> list:
    """(id, position, status, summary) of the lines that can be sampled, in scope order."""
    return db.session.execute(
        select(ScopeItem.id, ScopeItem.position, ScopeItem.status, ScopeItem.summary)
        .where(ScopeItem.accreditation_id == assessment.accreditation_id,
               sampleable())
        .order_by(ScopeItem.position, ScopeItem.id).limit(limit).offset(offset)).all()


def sampleable_count(assessment: Assessment) -> int:
    return db.session.execute(
        select(func.count(ScopeItem.id))
        .where(ScopeItem.accreditation_id == assessment.accreditation_id,
               sampleable())).scalar_one()


# -- risk (rule 40), estimate, actual -------------------------------------------------------------


def record_risk_consideration(assessment: Assessment, text: str | None) -> None:
    """Record the plan's risk consideration (activities, locations, personnel, residual risk and
    its rationale) before approval (rule 40)."""
    if assessment.status_enum not in PLAN_EDITABLE:
        raise Conflict(_("The plan is approved; its risk consideration is on record."))
    text = _text(text)
    if not text:
        raise ValidationFailed(_("Describe the risks considered and the residual risk accepted "
                                 "(rule 40)."), field="risk_consideration")
    before = assessment.risk_consideration
    user = acting_user()
    assessment.risk_consideration = text
    assessment.risk_recorded_at = utcnow()
    assessment.risk_recorded_by_id = user.id if user else None
    db.session.flush()
    audit.record("assessment.risk_recorded", assessment,
                 changes={"risk_consideration": [before, text]})


def refresh_estimate(assessment: Assessment) -> Estimate:
    estimate = estimate_days(assessment)
    if assessment.estimated_days != estimate.days:
        assessment.estimated_days = estimate.days
        db.session.flush()
    return estimate


def record_estimate(assessment: Assessment) -> Estimate:
    """Record the estimate again with the tenant's current factors (they may have changed since
    the plan last changed); audited. Only while the plan can change."""
    if assessment.status_enum not in PLAN_EDITABLE:
        raise Conflict(_("The plan is approved; its estimate is on record."))
    before = assessment.estimated_days
    estimate = refresh_estimate(assessment)
    if before != estimate.days:
        audit.record("assessment.estimate_updated", assessment,
                     changes={"estimated_days": [before, estimate.days]})
    return estimate


ACTUAL_DAYS_STATUSES = frozenset({S.in_progress, S.report_issued, S.closed})


def record_actual_days(assessment: Assessment, days) -> None:
    """The person-days actually spent, beside the estimate (DOMAIN.md §6); once the assessment
    has started, by a manager or the lead."""
    _require(assessment, LEAD_ONLY, _("Only managers and the lead assessor may record the "
                                      "actual days."))
    if assessment.status_enum not in ACTUAL_DAYS_STATUSES:
        raise Conflict(_("The actual days can be recorded once the assessment has started."),
                       field="actual_days")
    try:
        value = Decimal(str(days).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_("Give a number of days, e.g. 3.5."), field="actual_days") from None
    if not value.is_finite() or value < 0 or value > 9999:
        raise ValidationFailed(_("Give a number of days, e.g. 3.5."), field="actual_days")
    before = assessment.actual_days
    assessment.actual_days = value.quantize(Decimal("0.01"))
    if before == assessment.actual_days:
        return
    db.session.flush()
    audit.record("assessment.actual_days", assessment,
                 changes={"actual_days": [before, assessment.actual_days]})


# -- lifecycle ----------------------------------------------------------------------------------


def approve_plan(assessment: Assessment) -> None:
    """team confirmed → plan approved: needs the risk consideration (rule 40), a sample, a
    team that still covers the sample and passes every check (rule 5), and no blocking
    programme problem concerning this assessment (rules 7–11, e.g. on-site gap over 24 months)."""
    if assessment.status_enum != S.team_confirmed:
        raise Conflict(_("The plan can be approved once the team is confirmed."))
    if not assessment.risk_consideration:
        raise Conflict(_("Refused (rule 40): record the risk consideration before approving "
                         "the plan."), code="risk_missing")
    if not sample_ids(assessment):
        raise Conflict(_("Refused (rule 5): choose the sampled scope lines first."),
                       code="sample_missing")
    from accreditor.assessments.programme import blocking_problems  # programme imports us

    problems = blocking_problems(assessment)
    if problems:
        raise Conflict(_("Refused: the programme breaks a rule this plan must respect. %(list)s",
                         list=" ".join(p.message for p in problems)), code="programme_blocked")
    team_services._refuse(team_services.check_current_team(assessment))
    team_services.move(assessment, S.plan_approved)


def start_assessment(assessment: Assessment, *, today: date | None = None) -> None:
    """plan approved → in progress: refused while any CAB objection is open or the objection
    window has not closed (rule 4), and while the team fails a check it passed at approval (an
    authorisation withdrawn or expired since, a new double booking, rules 3, 5 and 37). A
    manager or the lead starts it."""
    _require(assessment, LEAD_ONLY, _("Only managers and the lead assessor may start the "
                                      "assessment."))
    if assessment.status_enum != S.plan_approved:
        raise Conflict(_("An assessment starts once its plan is approved."))
    if team_services.open_objections(assessment):
        raise Conflict(_("Refused (rule 4): a CAB objection to the team is unresolved; resolve "
                         "it first."), code="objection_open")
    if not team_services.window_closed(assessment, today):
        raise Conflict(_("Refused (rule 4): the CAB's objection window is still open."),
                       code="window_open")
    team_services._refuse(team_services.check_current_team(assessment))
    team_services.move(assessment, S.in_progress)


def save_report(assessment: Assessment, *, report_summary: str | None,
                recommendation: str | None, scope_recommended: str | None = None) -> None:
    """The report fields, while the assessment is in progress: managers, and the lead and
    assessors on the team (decision makers only read)."""
    _require(assessment, TEAM_WRITERS, _("Only the lead and assessors on the team, and "
                                         "managers, may write the report."))
    if assessment.status_enum != S.in_progress:
        raise Conflict(_("The report can be written while the assessment is in progress."))
    if recommendation and recommendation not in RECOMMENDATIONS:
        raise ValidationFailed(_("Choose a recommendation from the list."),
                               field="recommendation")
    assessment.report_summary = _text(report_summary)
    assessment.recommendation = recommendation or None
    assessment.scope_recommended = _text(scope_recommended)
    changes = audit.diff(assessment)
    if changes:
        db.session.flush()
        audit.record("assessment.report_saved", assessment, changes=changes)


def issue_report(assessment: Assessment) -> None:
    """in progress → report issued, by the lead (or a manager): needs the summary and the team's
    recommendation."""
    _require(assessment, LEAD_ONLY, _("Only the lead assessor or a manager may issue the "
                                      "report."))
    if assessment.status_enum != S.in_progress:
        raise Conflict(_("Only an assessment in progress can have its report issued."))
    if not assessment.report_summary or not assessment.recommendation:
        raise Conflict(_("Write the report summary and the recommendation before issuing the "
                         "report."), code="report_incomplete")
    from accreditor.findings import services as findings  # findings build on assessments

    findings.issue_findings(assessment)  # refuses unconfirmed expert findings (rule 6)
    assessment.report_issued_at = utcnow()
    team_services.move(assessment, S.report_issued)


def close_assessment(assessment: Assessment) -> None:
    """report issued → closed, once its findings are closed or handed to a follow-up
    assessment."""
    if assessment.status_enum != S.report_issued:
        raise Conflict(_("Only an assessment whose report is issued can be closed."))
    from accreditor.findings import services as findings

    findings.check_closable(assessment)
    assessment.closed_at = utcnow()
    team_services.move(assessment, S.closed)


def cancel_assessment(assessment: Assessment, reason: str | None) -> None:
    """Cancel an assessment that has not started; a reason is required."""
    reason = _text(reason)
    if not reason:
        raise ValidationFailed(_("Give the reason for cancelling."), field="reason")
    if not assessment.can_move_to(S.cancelled):
        raise Conflict(_("An assessment that has started cannot be cancelled."))
    from accreditor.findings import services as findings

    handed = findings.handed_to(assessment)
    if handed:
        raise Conflict(_("Findings %(refs)s were handed to this assessment for follow-up: hand "
                         "them to another assessment before cancelling this one.",
                         refs=", ".join(f.reference for f in handed)), code="findings_handed_to")
    team_services.move(assessment, S.cancelled, reason=[None, reason])


def next_actions(assessment: Assessment, *, today: date | None = None,
                 result: team_services.TeamCheckResult | None = None,
                 has_sample: bool | None = None) -> list[dict]:
    """The transitions offered from the current status, each with the reasons it would be
    refused now (shown on the page next to the button). ``result`` and ``has_sample`` spare the
    queries when the caller has them already."""
    today = today or date.today()
    st = assessment.status_enum

    def team_result() -> team_services.TeamCheckResult:
        return result if result is not None else team_services.check_current_team(assessment)

    def sampled() -> bool:
        return has_sample if has_sample is not None else bool(sample_ids(assessment))

    def action(key, label, blocked, *, who="plan", style="primary"):
        return {"action": key, "label": label, "blocked": blocked, "who": who, "style": style}

    out: list[dict] = []
    if st == S.draft:
        out.append(action("propose", _("Propose the team to the CAB"), team_result().messages))
    elif st == S.team_proposed:
        blocked = []
        if not team_services.window_closed(assessment, today):
            blocked.append(_("The CAB may object until %(d)s (rule 4); wait, or record a waiver.",
                             d=assessment.objection_window_ends_on.isoformat()
                             if assessment.objection_window_ends_on else "-"))
        if team_services.open_objections(assessment):
            blocked.append(_("A CAB objection is unresolved (rule 4)."))
        blocked += team_result().messages
        out.append(action("confirm", _("Confirm the team"), blocked))
    elif st == S.team_confirmed:
        blocked = [] if assessment.risk_consideration else [
            _("No risk consideration recorded (rule 40).")]
        if not sampled():
            blocked.append(_("No scope lines sampled (rule 5)."))
        blocked += team_result().messages
        out.append(action("approve", _("Approve the plan"), blocked))
    elif st == S.plan_approved:
        blocked = [_("A CAB objection is unresolved (rule 4).")] \
            if team_services.open_objections(assessment) else []
        blocked += team_result().messages
        out.append(action("start", _("Start the assessment"), blocked, who="lead"))
    elif st == S.in_progress:
        from accreditor.findings import services as findings

        blocked = [] if assessment.report_summary and assessment.recommendation else [
            _("The report summary and recommendation are missing.")]
        drafts = findings.unconfirmed(assessment)
        if drafts:
            blocked.append(_("Findings %(refs)s of a technical expert await confirmation "
                             "(rule 6).", refs=", ".join(f.reference for f in drafts)))
        out.append(action("issue", _("Issue the report"), blocked, who="lead"))
    elif st == S.report_issued:
        from accreditor.findings import services as findings

        still_open = findings.unhanded_open(assessment)
        blocked = [_("Findings %(refs)s are still open: close them or hand them to a follow-up "
                     "assessment.", refs=", ".join(f.reference for f in still_open))] \
            if still_open else []
        out.append(action("close", _("Close the assessment"), blocked))
    if st in team_services.OBJECTABLE:
        out.append(action("reopen", _("Change the team (back to draft)"), [],
                          style="outline-secondary"))
    if assessment.can_move_to(S.cancelled):
        out.append(action("cancel", _("Cancel the assessment"), [], style="outline-danger"))
    return out


def lead_name_column():
    """A scalar subquery for a list of assessments: the name of each one's lead assessor."""
    lead = aliased(TeamAssignment)
    return (select(User.name).join(lead, lead.user_id == User.id)
            .where(lead.assessment_id == Assessment.id, lead.role == TeamRole.lead.value)
            .order_by(lead.id).limit(1).scalar_subquery())


# -- history ------------------------------------------------------------------------------------


def history_stmt(assessment: Assessment):
    """Audit events about the assessment and its objections, newest first (one statement)."""
    objections = select(cast(TeamObjection.id, String)).where(
        TeamObjection.assessment_id == assessment.id)
    about = or_(and_(AuditEvent.object_type == "Assessment",
                     AuditEvent.object_id == str(assessment.id)),
                and_(AuditEvent.object_type == "TeamObjection",
                     AuditEvent.object_id.in_(objections)))
    return select(AuditEvent).where(AuditEvent.subject_cab_id == assessment.cab_id, about) \
        .order_by(AuditEvent.seq.desc())
