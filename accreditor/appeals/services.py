"""Use cases for appeals and challenges (rules 23, 24). One function per step; each checks who
may act and the rule, changes the state, flushes, audits, queues its e-mail; nothing commits.

Rules enforced here, each refusal naming its rule:

* rule 23 — lodged within ``appeal_window_months`` of the decision's notification (the date it
  was recorded, when the CAB is e-mailed) or the finding's issue; one open appeal per subject; a
  withdrawn appeal is not re-raised on the same subject; the handler (and each panel member)
  took no part in the appealed decision (a maker or its recorder) nor was on the team, in any
  role, of an assessment the decision cites or of the finding's assessment; panel members also
  did not handle stage 1. The appealed decision stays in force: nothing here writes a decision,
  a scope line or a finding — an overturned decision is answered by a new decision;
* rule 24 — with ``nc_appealable`` off a nonconformity is *challenged*, never appealed (and
  with it on, appealed, never challenged); a decision is always appealed;
* stage 2 — requested within ``appeal_second_stage_months`` of the stage-1 outcome, once.

Who may act: the CAB's own users lodge, withdraw and request stage 2 (managers and admins may do
it on the CAB's behalf, recorded as such); managers and admins acknowledge, assign, appoint the
panel and close; the handler (or an independent manager/admin on their behalf) records the
outcome; a panel member (or an independent manager/admin) records the panel's. Without a
signed-in user (CLI, jobs, demo data, tests) the caller is the system.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from dateutil.relativedelta import relativedelta
from flask import g
from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select

from accreditor.appeals.models import (
    OPEN_STATUSES,
    TRANSITIONS,
    Appeal,
    AppealKind,
    AppealPanelMember,
    AppealStatus,
    Outcome,
    PanelRole,
)
from accreditor.assessments.models import TeamAssignment
from accreditor.auth.models import Membership, MembershipRole, User
from accreditor.core import audit
from accreditor.core.db import utcnow
from accreditor.core.errors import Conflict, PermissionDenied, ValidationFailed
from accreditor.core.permissions import Role, acting_user, has_role
from accreditor.core.tenancy import cab_scope
from accreditor.core.web import external_url
from accreditor.core.workdays import add_working_days
from accreditor.decisions.models import Decision, DecisionInput, DecisionMaker
from accreditor.documents import services as documents
from accreditor.extensions import db
from accreditor.findings.models import ISSUED_STATUSES, Finding
from accreditor.tenants.models import TenantPolicy

S = AppealStatus
OWNER_TYPE = "appeal"
GROUNDS_MAX = 20_000
MANAGERS = (Role.admin, Role.manager)
# Staff who may handle an appeal or sit on its panel (and read appeals).
HANDLER_ROLES = (Role.admin, Role.manager, Role.decision_maker)
PANEL_MEMBERS = 2  # besides the chair

# Attachments: staff read them; a CAB user reads current files of their own CAB (the
# documents' default rule, registered so the owner type is known).
documents.register_owner(OWNER_TYPE)


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def staff_link(appeal: Appeal) -> str:
    return external_url("tenant.appeals.show", appeal_id=appeal.id)


def cab_link(appeal: Appeal) -> str:
    return external_url("tenant.cab_appeals.show", appeal_id=appeal.id)


# -- words (rule 24) ---------------------------------------------------------------------------


def finding_kind(policy: TenantPolicy | None = None) -> AppealKind:
    """How the tenant lets a CAB contest a nonconformity: appeal (UKAS) or challenge (ANAB)."""
    policy = policy or TenantPolicy.current()
    return AppealKind.appeal if policy.nc_appealable else AppealKind.challenge


def kind_for(subject: Decision | Finding) -> AppealKind:
    return AppealKind.appeal if isinstance(subject, Decision) else finding_kind()


# -- subjects and their window ----------------------------------------------------------------


def load_subject(*, decision_id=None, finding_id=None) -> Decision | Finding | None:
    """The decision, or the issued nonconformity, through the tenant (and CAB) filters."""
    try:
        if decision_id:
            return db.session.execute(
                select(Decision).where(Decision.id == int(decision_id))).scalar_one_or_none()
        if finding_id:
            finding = db.session.execute(
                select(Finding).where(Finding.id == int(finding_id),
                                      Finding.status.in_(ISSUED_STATUSES))).scalar_one_or_none()
            return finding if finding is not None and finding.is_nonconformity else None
    except (TypeError, ValueError):
        return None
    return None


def notified_on(subject: Decision | Finding) -> date:
    """The date the window runs from: the decision's notification (the CAB is e-mailed when it
    is recorded) or the finding's issue."""
    when = subject.decided_at if isinstance(subject, Decision) else subject.issued_at
    return when.date()


def window_ends_on(subject: Decision | Finding) -> date:
    return notified_on(subject) + relativedelta(months=TenantPolicy.current().appeal_window_months)


def _subject_filter(subject: Decision | Finding):
    if isinstance(subject, Decision):
        return Appeal.decision_id == subject.id
    return Appeal.finding_id == subject.id


def open_appeal_of(subject: Decision | Finding) -> Appeal | None:
    return db.session.execute(select(Appeal).where(
        _subject_filter(subject), Appeal.status.in_(OPEN_STATUSES))).scalars().first()


def lodge_refusal(subject: Decision | Finding, kind: AppealKind | str | None = None, *,
                  today: date | None = None) -> Conflict | None:
    """Why an appeal (or challenge) of ``subject`` cannot be lodged now, or None: rules 23, 24.
    The lodge page asks it before showing the form; :func:`lodge_appeal` raises it."""
    today = today or date.today()
    policy = TenantPolicy.current()
    expected = kind_for(subject)
    kind = AppealKind(kind) if kind else expected
    if isinstance(subject, Finding) and kind != expected:
        if kind == AppealKind.appeal:
            return Conflict(_("Rule 24: a nonconformity is not an accreditation decision and "
                              "cannot be appealed here; challenge it instead."),
                            code="nc_not_appealable")
        return Conflict(_("Rule 24: nonconformities are appealable here; lodge an appeal, "
                          "not a challenge."), code="nc_appealable")
    if isinstance(subject, Decision) and kind != AppealKind.appeal:
        return Conflict(_("Rule 24: a decision is appealed, not challenged."),
                        code="decision_appealed")
    ends = notified_on(subject) + relativedelta(months=policy.appeal_window_months)
    if today > ends:
        what = _("decision") if isinstance(subject, Decision) else _("nonconformity")
        return Conflict(_("Rule 23: an appeal or challenge must be lodged within %(m)d "
                          "month(s) of the notification of the %(what)s (notified %(n)s); the "
                          "window closed on %(e)s.", m=policy.appeal_window_months, what=what,
                          n=notified_on(subject).isoformat(), e=ends.isoformat()),
                        code="appeal_window_closed")
    current = open_appeal_of(subject)
    if current is not None:
        return Conflict(_("Rule 23: appeal %(ref)s on the same subject is still open; only one "
                          "open appeal per subject.", ref=current.reference),
                        code="appeal_already_open")
    decided = db.session.execute(select(Appeal.reference, Appeal.panel_outcome).where(
        _subject_filter(subject), Appeal.outcome.is_not(None),
        Appeal.status != S.withdrawn.value).order_by(Appeal.id)).first()
    if decided is not None:
        if decided.panel_outcome is not None:
            return Conflict(_("Rule 23: appeal %(ref)s on the same subject has been decided by "
                              "the appeal review panel; its outcome is final.",
                              ref=decided.reference), code="appeal_decided_before")
        return Conflict(_("Rule 23: appeal %(ref)s on the same subject already has its outcome; "
                          "to contest it, request the stage-2 panel review of %(ref)s instead "
                          "of lodging a new appeal.", ref=decided.reference),
                        code="appeal_decided_before")
    withdrawn = db.session.execute(select(Appeal.reference).where(
        _subject_filter(subject), Appeal.status == S.withdrawn.value)).scalars().first()
    if withdrawn is not None:
        return Conflict(_("Rule 23: appeal %(ref)s on the same subject was withdrawn; a "
                          "withdrawn appeal cannot be re-raised on the same grounds.",
                          ref=withdrawn), code="appeal_withdrawn_before")
    return None


def _next_reference(year: int) -> tuple[int, str]:
    """(seq, A-<year>-<nnnn>), per tenant and year, never reused: a counter row locked for the
    update. Not ``max(Appeal.seq)``: for a CAB user that query sees only the CAB's own appeals,
    so a second CAB would take a number already used in the tenant."""
    from accreditor.scopes.models import NumberCounter

    key = f"appeal-{year}"
    counter_id = db.session.execute(
        select(NumberCounter.id).where(NumberCounter.key == key).with_for_update()
    ).scalar_one_or_none()
    if counter_id is None:
        # First appeal of the year with the counter: start after any appeal numbered before
        # the counter existed, seen across all the tenant's CABs.
        with cab_scope(None):
            last = db.session.execute(select(func.max(Appeal.seq)).where(Appeal.year == year)
                                      ).scalar_one_or_none() or 0
        counter = NumberCounter(key=key, value=last)
        db.session.add(counter)
    else:
        counter = db.session.execute(
            select(NumberCounter).where(NumberCounter.id == counter_id)).scalar_one()
    counter.value += 1
    db.session.flush()
    return counter.value, f"A-{year}-{counter.value:04d}"


def _may_act_for_cab(cab_id: int) -> bool:
    """True for a staff manager/admin acting on the CAB's behalf; False for the CAB's own user
    (or the system); PermissionDenied for anyone else."""
    if acting_user() is None:
        return False
    if g.get("cab_id") is not None:
        if g.cab_id != cab_id or not has_role(Role.cab_user):
            raise PermissionDenied(_("Only the CAB's own users may do this."))
        return False
    if has_role(*MANAGERS):
        return True
    raise PermissionDenied(_("Only the CAB's own users, or a manager on its behalf, may do "
                             "this."))


def lodge_appeal(subject: Decision | Finding, *, grounds: str | None,
                 kind: AppealKind | str | None = None, files: Iterable = (),
                 lodged_by_id: int | None = None, on_behalf: bool = False,
                 today: date | None = None) -> Appeal:
    """Lodge an appeal (or challenge) of a decision or an issued nonconformity. Raises
    PermissionDenied (not the CAB's user nor a manager), ValidationFailed (grounds) or Conflict
    (rules 23, 24). The subject itself is not touched: the decision stays in force."""
    today = today or date.today()
    behalf = _may_act_for_cab(subject.cab_id) or on_behalf
    user = acting_user()
    by_id = user.id if user is not None else lodged_by_id
    if by_id is None:
        raise ValidationFailed(_("Who lodges the appeal is required."), field="lodged_by_id")
    grounds = _text(grounds)
    if grounds is None:
        raise ValidationFailed(_("State the grounds of the appeal."), field="grounds")
    if len(grounds) > GROUNDS_MAX:
        raise ValidationFailed(_("The grounds may be at most %(n)d characters.", n=GROUNDS_MAX),
                               field="grounds")
    refusal = lodge_refusal(subject, kind, today=today)
    if refusal is not None:
        raise refusal
    policy = TenantPolicy.current()
    seq, reference = _next_reference(today.year)
    notified = notified_on(subject)
    appeal = Appeal(
        cab_id=subject.cab_id, accreditation_id=subject.accreditation_id, year=today.year,
        seq=seq, reference=reference, kind=kind_for(subject).value,
        decision_id=subject.id if isinstance(subject, Decision) else None,
        finding_id=subject.id if isinstance(subject, Finding) else None,
        grounds=grounds, status=S.lodged.value, lodged_by_id=by_id, on_behalf=behalf,
        lodged_at=utcnow(), notified_on=notified,
        window_ends_on=notified + relativedelta(months=policy.appeal_window_months),
        ack_due_on=add_working_days(today, policy.appeal_ack_working_days))
    db.session.add(appeal)
    db.session.flush()
    audit.record("appeal.lodged", appeal, changes=audit.snapshot(appeal, (
        "reference", "kind", "decision_id", "finding_id", "status", "lodged_by_id", "on_behalf",
        "window_ends_on", "ack_due_on")))
    for upload in files or ():
        if upload is not None and getattr(upload, "filename", None):
            documents.store_upload(upload, owner_type=OWNER_TYPE, owner_id=appeal.id,
                                   cab_id=appeal.cab_id)
    _tell_managers(appeal, "appeal_lodged",
                   _("New %(kind)s %(ref)s: acknowledge by %(d)s", kind=appeal.kind,
                     ref=appeal.reference, d=appeal.ack_due_on.isoformat()))
    return appeal


# -- independence (rule 23) --------------------------------------------------------------------


def involved(appeal: Appeal, *, panel: bool = False) -> dict[int, str]:
    """{user id: why they may not handle the appeal (or, ``panel``, sit on its panel)}: they
    took part in the appealed decision or were on the team of an assessment it rests on; for the
    panel also whoever handled stage 1 (now or before a reassignment) or recorded its outcome.
    Three statements (four for the panel) whatever the size of the teams."""
    why: dict[int, str] = {}
    if appeal.decision_id is not None:
        decision = db.session.execute(select(Decision.recorded_by_id, Decision.assessment_id)
                                      .where(Decision.id == appeal.decision_id)).one()
        for uid in db.session.execute(select(DecisionMaker.user_id).where(
                DecisionMaker.decision_id == appeal.decision_id)).scalars():
            why[uid] = _("took the appealed decision")
        if decision.recorded_by_id is not None:
            why.setdefault(decision.recorded_by_id, _("recorded the appealed decision"))
        cited = select(DecisionInput.assessment_id).where(
            DecisionInput.decision_id == appeal.decision_id)
        cond = TeamAssignment.assessment_id.in_(cited)
        if decision.assessment_id is not None:
            cond = or_(cond, TeamAssignment.assessment_id == decision.assessment_id)
        where = _("was on the team (%(role)s) of assessment %(a)d the decision cites")
    else:
        finding = db.session.execute(select(Finding.assessment_id, Finding.raised_by_id)
                                     .where(Finding.id == appeal.finding_id)).one()
        why[finding.raised_by_id] = _("raised the nonconformity")
        cond = TeamAssignment.assessment_id == finding.assessment_id
        where = _("was on the team (%(role)s) of assessment %(a)d that raised the "
                  "nonconformity")
    for uid, aid, role in db.session.execute(select(
            TeamAssignment.user_id, TeamAssignment.assessment_id, TeamAssignment.role)
            .where(cond).order_by(TeamAssignment.assessment_id)).all():
        why.setdefault(uid, where % {"role": role.replace("_", " "), "a": aid})
    if panel:
        if appeal.handler_id is not None:
            why.setdefault(appeal.handler_id, _("handled stage 1 of this appeal"))
        if appeal.outcome_by_id is not None:
            why.setdefault(appeal.outcome_by_id, _("recorded the stage-1 outcome of this appeal"))
        # Every handler stage 1 ever had (a reassignment leaves only the last on the row).
        for changes in db.session.execute(select(audit.AuditEvent.changes).where(
                audit.AuditEvent.object_type == Appeal.__name__,
                audit.AuditEvent.object_id == str(appeal.id),
                audit.AuditEvent.action == "appeal.handler_assigned")).scalars():
            for uid in (changes or {}).get("handler_id") or ():
                if uid is not None:
                    why.setdefault(int(uid), _("handled stage 1 of this appeal"))
    return why


def staff_candidates() -> list[tuple[int, str]]:
    """(id, name) of the tenant's active staff who may handle appeals, by name."""
    return [tuple(r) for r in db.session.execute(
        select(User.id, User.name).join(Membership, Membership.user_id == User.id)
        .where(Membership.is_active, Membership.id.in_(
            select(MembershipRole.membership_id).where(
                MembershipRole.role.in_([r.value for r in HANDLER_ROLES]))))
        .order_by(User.name, User.id)).all()]


def candidates(appeal: Appeal, *, panel: bool = False) -> tuple[list, list]:
    """(eligible [(id, name)], ineligible [(id, name, why)]) for the handler or panel choice."""
    why = involved(appeal, panel=panel)
    eligible, ineligible = [], []
    for uid, name in staff_candidates():
        if uid in why:
            ineligible.append((uid, name, why[uid]))
        else:
            eligible.append((uid, name))
    return eligible, ineligible


def _check_independent(appeal: Appeal, user_ids: Iterable[int], *, panel: bool,
                       field: str) -> None:
    why = involved(appeal, panel=panel)
    staff = dict(staff_candidates())
    for uid in user_ids:
        if uid not in staff:
            raise ValidationFailed(_("Choose an active manager, administrator or decision "
                                     "maker of the accreditation body."), field=field)
        if uid in why:
            who = _("a panel member") if panel else _("the handler")
            raise Conflict(_("Rule 23: %(who)s must not have taken part in the assessment or "
                             "the appealed decision: %(name)s %(why)s.", who=who,
                             name=staff[uid], why=why[uid]), code="not_independent")


# -- stage 1 -----------------------------------------------------------------------------------


def _lock(appeal: Appeal) -> None:
    """Serialise transitions of one appeal (a plain SELECT … FOR UPDATE: PostgreSQL cannot lock
    an outer-joined load), then read it as it now stands."""
    db.session.execute(select(Appeal.id).where(Appeal.id == appeal.id).with_for_update())
    db.session.refresh(appeal)


def _require(*roles: Role) -> None:
    if acting_user() is not None and not has_role(*roles):
        raise PermissionDenied(_("Your role does not allow this action on an appeal."))


def _transition(appeal: Appeal, new: AppealStatus, action: str, **values) -> None:
    if new not in _allowed(appeal):
        raise Conflict(_("Appeal %(ref)s is %(s)s: that step is not open now.",
                         ref=appeal.reference, s=appeal.status.replace("_", " ")),
                       code="invalid_transition")
    appeal.set_status(new)
    for key, value in values.items():
        setattr(appeal, key, value)
    changes = audit.diff(appeal)
    db.session.flush()
    audit.record(action, appeal, changes=changes)


def _allowed(appeal: Appeal):
    return TRANSITIONS[appeal.status_enum]


def _user_id() -> int | None:
    user = acting_user()
    return user.id if user is not None else None


def acknowledge_appeal(appeal: Appeal, *, today: date | None = None) -> None:
    """Acknowledge a lodged appeal; the outcome is then due ``appeal_outcome_working_days``
    working days later. Managers and admins."""
    _require(*MANAGERS)
    _lock(appeal)
    today = today or date.today()
    _transition(appeal, S.acknowledged, "appeal.acknowledged", acknowledged_at=utcnow(),
                acknowledged_by_id=_user_id(),
                outcome_due_on=add_working_days(
                    today, TenantPolicy.current().appeal_outcome_working_days))
    _tell_cab(appeal, "appeal_acknowledged",
              _("%(kind)s %(ref)s acknowledged", kind=appeal.kind.capitalize(),
                ref=appeal.reference))


def assign_handler(appeal: Appeal, *, handler_id) -> None:
    """Name (or change) the handler: an independent senior person (rule 23). Managers and
    admins."""
    _require(*MANAGERS)
    _lock(appeal)
    try:
        handler_id = int(handler_id)
    except (TypeError, ValueError):
        raise ValidationFailed(_("Choose the handler."), field="handler_id") from None
    if appeal.status not in (S.acknowledged, S.under_review):
        raise Conflict(_("A handler is named once the appeal is acknowledged and before its "
                         "outcome."), code="invalid_transition")
    if handler_id == appeal.handler_id:
        raise ValidationFailed(_("This person already handles the appeal."), field="handler_id")
    _check_independent(appeal, [handler_id], panel=False, field="handler_id")
    _transition(appeal, S.under_review, "appeal.handler_assigned", handler_id=handler_id,
                handler_assigned_at=utcnow())
    email = db.session.execute(select(User.email).where(User.id == handler_id)).scalar_one()
    send_assignment(appeal, [email], _("You handle %(kind)s %(ref)s (outcome due %(d)s)",
                                       kind=appeal.kind, ref=appeal.reference,
                                       d=appeal.outcome_due_on.isoformat()), role="handler")


def _outcome(value) -> Outcome:
    try:
        return Outcome(value)
    except ValueError:
        raise ValidationFailed(_("Choose the outcome."), field="outcome") from None


def record_outcome(appeal: Appeal, *, outcome, reasons: str | None,
                   today: date | None = None) -> None:
    """The stage-1 outcome with its reasons, by the handler (or an independent manager/admin
    on their behalf). Changes nothing else: the decision stays in force (rule 23)."""
    _lock(appeal)
    user = acting_user()
    if user is not None and user.id != appeal.handler_id:
        if not has_role(*MANAGERS):
            raise PermissionDenied(_("Only the appeal's handler records its outcome."))
        if user.id in involved(appeal):
            raise Conflict(_("Rule 23: you took part in the assessment or the appealed "
                             "decision, so you cannot record this outcome."),
                           code="not_independent")
    result = _outcome(outcome)
    reasons = _text(reasons)
    if reasons is None:
        raise ValidationFailed(_("Give the reasons for the outcome."), field="reasons")
    today = today or date.today()
    months = TenantPolicy.current().appeal_second_stage_months
    _transition(appeal, S.decided, "appeal.decided", outcome=result.value,
                outcome_reasons=reasons, outcome_at=utcnow(), outcome_by_id=_user_id(),
                review_window_ends_on=today + relativedelta(months=months))
    _tell_cab(appeal, "appeal_outcome", _("Outcome of %(kind)s %(ref)s", kind=appeal.kind,
                                          ref=appeal.reference), stage=1)


def close_appeal(appeal: Appeal) -> None:
    """Close a decided appeal (the CAB may still ask for stage 2 within its window)."""
    _require(*MANAGERS)
    _lock(appeal)
    _transition(appeal, S.closed, "appeal.closed", closed_at=utcnow())


def withdraw_appeal(appeal: Appeal, *, reason: str | None) -> None:
    """The CAB withdraws its appeal before the outcome of the stage in progress, with a reason.
    It cannot be re-raised on the same subject (rule 23)."""
    _may_act_for_cab(appeal.cab_id)
    _lock(appeal)
    reason = _text(reason)
    if reason is None:
        raise ValidationFailed(_("Give the reason for withdrawing."), field="reason")
    if not appeal.can_withdraw():
        raise Conflict(_("Appeal %(ref)s can no longer be withdrawn: its outcome is given.",
                         ref=appeal.reference), code="invalid_transition")
    _transition(appeal, S.withdrawn, "appeal.withdrawn", withdrawn_at=utcnow(),
                withdrawn_by_id=_user_id(), withdrawn_reason=reason)


# -- stage 2: the appeal review panel ----------------------------------------------------------


def request_review(appeal: Appeal, *, reason: str | None, today: date | None = None) -> None:
    """The CAB asks for the appeal review panel, within ``appeal_second_stage_months`` of the
    stage-1 outcome, once."""
    _may_act_for_cab(appeal.cab_id)
    _lock(appeal)
    today = today or date.today()
    reason = _text(reason)
    if reason is None:
        raise ValidationFailed(_("Say why the outcome should be reviewed."), field="reason")
    if appeal.review_requested_at is not None or appeal.status not in (S.decided, S.closed):
        raise Conflict(_("A panel review is requested once, after the stage-1 outcome."),
                       code="invalid_transition")
    if today > appeal.review_window_ends_on:
        months = TenantPolicy.current().appeal_second_stage_months
        raise Conflict(_("A panel review must be requested within %(m)d month(s) of the "
                         "stage-1 outcome (given %(o)s); the window closed on %(e)s.", m=months,
                         o=appeal.outcome_at.date().isoformat(),
                         e=appeal.review_window_ends_on.isoformat()),
                       code="review_window_closed")
    _transition(appeal, S.review_requested, "appeal.review_requested",
                review_requested_at=utcnow(), review_requested_by_id=_user_id(),
                review_reason=reason, closed_at=None)
    _tell_managers(appeal, "appeal_review_requested",
                   _("Panel review requested for %(ref)s", ref=appeal.reference))


def appoint_panel(appeal: Appeal, *, chair_id, member_ids) -> list[AppealPanelMember]:
    """A chair and two members, none involved in the assessment, the decision or stage 1
    (rule 23). Managers and admins."""
    _require(*MANAGERS)
    _lock(appeal)
    try:
        chair = int(chair_id)
    except (TypeError, ValueError):
        raise ValidationFailed(_("Choose the chair."), field="chair_id") from None
    try:
        members = sorted({int(m) for m in member_ids or ()} - {chair})
    except (TypeError, ValueError):
        raise ValidationFailed(_("Unknown selection."), field="member_ids") from None
    if len(members) != PANEL_MEMBERS:
        raise ValidationFailed(_("Choose exactly %(n)d members besides the chair.",
                                 n=PANEL_MEMBERS), field="member_ids")
    if appeal.status != S.review_requested:
        raise Conflict(_("A panel is appointed once the CAB has requested a review."),
                       code="invalid_transition")
    _check_independent(appeal, [chair], panel=True, field="chair_id")
    _check_independent(appeal, members, panel=True, field="member_ids")
    rows = [AppealPanelMember(appeal_id=appeal.id, cab_id=appeal.cab_id, user_id=chair,
                              role=PanelRole.chair.value)]
    rows += [AppealPanelMember(appeal_id=appeal.id, cab_id=appeal.cab_id, user_id=uid,
                               role=PanelRole.member.value) for uid in members]
    db.session.add_all(rows)
    _transition(appeal, S.panel_review, "appeal.panel_appointed", panel_appointed_at=utcnow())
    audit.record("appeal.panel_members", appeal,
                 changes={"chair_id": [None, chair], "member_ids": [None, members]})
    emails = list(db.session.execute(select(User.email).where(
        User.id.in_([chair, *members])).order_by(User.email)).scalars())
    send_assignment(appeal, emails, _("You sit on the review panel of %(ref)s",
                                      ref=appeal.reference), role="panel")
    return rows


def panel_member_ids(appeal: Appeal) -> set[int]:
    return set(db.session.execute(select(AppealPanelMember.user_id).where(
        AppealPanelMember.appeal_id == appeal.id)).scalars())


def record_panel_outcome(appeal: Appeal, *, outcome, reasons: str | None) -> None:
    """The panel's outcome (final), by a panel member or an independent manager/admin; closes
    the appeal. The decision stays in force (rule 23)."""
    _lock(appeal)
    user = acting_user()
    if user is not None and user.id not in panel_member_ids(appeal):
        if not has_role(*MANAGERS):
            raise PermissionDenied(_("Only the panel records its outcome."))
        if user.id in involved(appeal, panel=True):
            raise Conflict(_("Rule 23: you took part in the assessment, the appealed decision "
                             "or stage 1, so you cannot record the panel's outcome."),
                           code="not_independent")
    result = _outcome(outcome)
    reasons = _text(reasons)
    if reasons is None:
        raise ValidationFailed(_("Give the panel's reasons."), field="reasons")
    if appeal.status != S.panel_review:
        raise Conflict(_("The panel's outcome is recorded once the panel is appointed."),
                       code="invalid_transition")
    _transition(appeal, S.closed, "appeal.panel_decided", panel_outcome=result.value,
                panel_reasons=reasons, panel_decided_at=utcnow(),
                panel_recorded_by_id=_user_id(), closed_at=utcnow())
    _tell_cab(appeal, "appeal_outcome", _("Panel outcome of %(ref)s", ref=appeal.reference),
              stage=2)


# -- lists and deadlines -----------------------------------------------------------------------


def overdue_condition(today: date):
    """SQL: the acknowledgement or the stage-1 outcome is late."""
    return or_(
        and_(Appeal.status == S.lodged.value, Appeal.ack_due_on < today),
        and_(Appeal.status.in_((S.acknowledged.value, S.under_review.value)),
             Appeal.outcome_due_on < today))


def due_column():
    """SQL: the date the AB works towards now (acknowledgement, then outcome)."""
    from sqlalchemy import case

    return case((Appeal.status == S.lodged.value, Appeal.ack_due_on),
                (Appeal.status.in_((S.acknowledged.value, S.under_review.value)),
                 Appeal.outcome_due_on), else_=None)


def attachments(appeal: Appeal) -> list:
    return documents.documents_for(OWNER_TYPE, appeal.id)


# -- mail --------------------------------------------------------------------------------------


def manager_emails() -> list[str]:
    """The tenant's active managers (appeals are the AB's business, not one case manager's)."""
    return sorted(set(db.session.execute(
        select(User.email).join(Membership, Membership.user_id == User.id)
        .join(MembershipRole, MembershipRole.membership_id == Membership.id)
        .where(Membership.is_active, MembershipRole.role == Role.manager.value)).scalars()))


def _tell_managers(appeal: Appeal, template: str, subject: str) -> int:
    from accreditor.core.mail import send_mail

    emails = manager_emails()
    for email in emails:
        send_mail(email, subject, template, appeal=appeal, link=staff_link(appeal))
    return len(emails)


def _tell_cab(appeal: Appeal, template: str, subject: str, **ctx) -> None:
    from accreditor.cabs.services import cab_user_emails
    from accreditor.core.mail import send_mail

    for email in cab_user_emails(appeal.cab_id):
        send_mail(email, subject, template, appeal=appeal, link=cab_link(appeal), **ctx)


def send_assignment(appeal: Appeal, emails: list[str], subject: str, *, role: str) -> None:
    from accreditor.core.mail import send_mail

    for email in emails:
        send_mail(email, subject, "appeal_assigned", appeal=appeal, role=role,
                  link=staff_link(appeal))
