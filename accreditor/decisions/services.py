"""Recording an accreditation decision: the rules that refuse it and what it does.

``check_decision`` lists every rule a proposed decision breaks, each naming its rule:

* rule 1 — a decision maker was on the team (any role) of an assessment cited as input;
* rule 2 — a decision maker has a recorded consultancy relationship with any CAB in the current
  period (the tenant's consultancy look-back);
* rule 13 — a grant or extension while a nonconformity of the accreditation is open (or closed
  on a plan alone: ``open_blocking_findings(..., for_grant=True)``);
* rule 34 — an MS certification body's grant or extension while a critical IAF code of the
  scope is overdue for witnessing or was never witnessed (IAF MD 17);
* rule 32 — a 17020 grant without the inspection body's type;
* rule 10 — a reinstatement when the last completed on-site assessment is older than the
  on-site interval, or its findings are not cleared;
* rule 21 — an extension while the accreditation is fully suspended;
* rule 19 — a partial suspension naming no scope line or location.

``record_decision`` refuses (Conflict, code ``decision_refused``) while any applies; otherwise,
in the caller's transaction: the decision, its makers, inputs and lines; the scope events
(``scopes.services``: grant, suspend, reinstate, reduce, withdraw, refuse — the accreditation's
status is derived from its lines); the cycle (the first grant starts it; a decision on a
reassessment starts the next one; a suspension never moves its end, rule 8); a new schedule
version when the scope changed (rule 28); proposals of the findings it settles marked decided;
the CAB's users told by e-mail; every step audited. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from sqlalchemy import Integer, func, literal, or_, select
from sqlalchemy.orm import joinedload

from accreditor.assessments.models import (
    Assessment,
    AssessmentStatus,
    AssessmentType,
    InterestDeclaration,
    InterestKind,
    TeamAssignment,
)
from accreditor.auth.models import Membership, MembershipRole, User
from accreditor.certificates import services as certificates
from accreditor.core import audit
from accreditor.core.db import utcnow
from accreditor.core.errors import Conflict, PermissionDenied, ValidationFailed
from accreditor.core.permissions import Role, acting_user, has_role
from accreditor.decisions.models import (
    GRANTING,
    SCOPE_CHANGING,
    Decision,
    DecisionInput,
    DecisionItem,
    DecisionKind,
    DecisionMaker,
    Extent,
    ScheduleVersion,
    SuspensionType,
)
from accreditor.directory import services as directory
from accreditor.extensions import db
from accreditor.scopes import services as scopes
from accreditor.scopes.models import (
    LIVE_STATUSES,
    Accreditation,
    AccreditationStatus,
    ItemStatus,
    ReasonCode,
    ScopeEvent,
    ScopeItem,
)
from accreditor.scopes.services import MAX_CYCLE
from accreditor.tenants.models import TenantPolicy

K = DecisionKind
# Assessments whose report may be cited: issued (or closed afterwards).
REPORTED = (AssessmentStatus.report_issued.value, AssessmentStatus.closed.value)
# Decisions that rest on an assessment's report.
NEEDS_INPUT = frozenset({K.grant, K.extend, K.maintain, K.reinstate, K.follow_up, K.refuse})
# The team's recommendation → the decision it asks for.
FROM_RECOMMENDATION = {"grant": K.grant, "maintain": K.maintain, "extend": K.extend,
                       "reduce": K.reduce, "suspend": K.suspend, "withdraw": K.withdraw,
                       "refuse": K.refuse, "reinstate": K.reinstate,
                       "further_assessment": K.follow_up}
SUSPENSION_REASONS = {SuspensionType.imposed: ReasonCode.imposed,
                      SuspensionType.voluntary: ReasonCode.voluntary,
                      SuspensionType.financial: ReasonCode.financial}
RECORDERS = (Role.decision_maker, Role.admin, Role.manager)  # a manager records as secretary


@dataclass(frozen=True)
class Refusal:
    rule: str
    code: str
    message: str


class DecisionRefused(Conflict):
    code = "decision_refused"

    def __init__(self, refusals: list[Refusal]):
        super().__init__(" ".join(r.message for r in refusals))
        self.refusals = refusals


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _ids(values: Iterable | None) -> list[int]:
    out = []
    for v in values or ():
        try:
            out.append(int(v))
        except (TypeError, ValueError):
            raise ValidationFailed(_("Unknown selection."), field="items") from None
    return sorted(set(out))


# -- the queue ----------------------------------------------------------------------------------


def _queued():
    answered = select(Decision.assessment_id).where(Decision.assessment_id.is_not(None))
    live = select(Accreditation.id).where(Accreditation.status.in_(
        [AccreditationStatus.applicant.value, *(st.value for st in LIVE_STATUSES)]))
    return (Assessment.status.in_(REPORTED), Assessment.recommendation.is_not(None),
            Assessment.accreditation_id.in_(live), Assessment.id.notin_(answered))


def queue(limit: int = 200, offset: int = 0) -> list:
    """Reports with a recommendation no decision has answered yet, oldest first."""
    return list(db.session.execute(
        select(Assessment).where(*_queued())
        .order_by(Assessment.report_issued_at, Assessment.id).limit(limit).offset(offset))
        .scalars())


def queue_count() -> int:
    return db.session.execute(select(func.count(Assessment.id)).where(*_queued())).scalar_one()


def decision_makers() -> list[tuple[int, str]]:
    """(user id, name) of the tenant's active decision makers."""
    return [tuple(r) for r in db.session.execute(
        select(User.id, User.name).join(Membership, Membership.user_id == User.id)
        .join(MembershipRole, MembershipRole.membership_id == Membership.id)
        .where(Membership.is_active, MembershipRole.role == Role.decision_maker.value)
        .order_by(User.name, User.id)).all()]


def citable(acc: Accreditation) -> list[Assessment]:
    """The accreditation's assessments whose report may be cited, newest first."""
    return list(db.session.execute(
        select(Assessment).where(Assessment.accreditation_id == acc.id,
                                 Assessment.status.in_(REPORTED))
        .order_by(Assessment.planned_start_on.desc(), Assessment.id.desc())).scalars())


# -- the checks ---------------------------------------------------------------------------------


@dataclass
class Proposed:
    kind: DecisionKind
    maker_ids: list[int]
    input_ids: list[int]
    items: list[ScopeItem]
    extent: Extent | None = None


def _clean(acc: Accreditation, *, kind, rationale, effective_on, maker_ids, input_ids,
           item_ids, assessment_id, suspension_type, extent, location_codes,
           suspension_id=None, new_max_end_on=None, cab_request=None,
           light: bool = False, prechecked: bool = False, today: date | None = None) -> dict:
    try:
        kind = DecisionKind(kind)
    except ValueError:
        raise ValidationFailed(_("Choose the decision."), field="kind") from None
    rationale = _text(rationale)
    if not rationale:
        raise ValidationFailed(_("Give the rationale for the decision."), field="rationale")
    if effective_on is None:
        raise ValidationFailed(_("Give the date the decision takes effect."),
                               field="effective_on")
    if effective_on > (today or date.today()):
        raise ValidationFailed(_("A decision takes effect on the day it is taken or earlier; "
                                 "record it on the day it takes effect."), field="effective_on")
    policy = TenantPolicy.current()
    makers = _ids(maker_ids)
    # The lighter path is one person's confirmation, whatever the committee size.
    if len(makers) < (1 if light else policy.decision_committee_size):
        raise ValidationFailed(
            _("Name the decision maker.") if policy.decision_committee_size == 1 else
            _("Name the %(n)d members of the decision committee.",
              n=policy.decision_committee_size), field="maker_ids")
    recorder = acting_user()
    if prechecked:
        pass  # the makers were checked when they took the decision (an accepted resignation)
    elif recorder is not None and not has_role(Role.admin, Role.manager) \
            and recorder.id not in makers:
        raise ValidationFailed(_("Record your own decision: you are one of its decision makers "
                                 "(a manager records a committee's decision as secretary)."),
                               field="maker_ids")
    eligible = {uid for uid, _name in decision_makers()}
    if light and recorder is not None:
        eligible.add(recorder.id)  # a manager confirms a clean surveillance outcome
    if not prechecked and set(makers) - eligible:
        raise ValidationFailed(_("Each decision maker must hold the decision-maker role."),
                               field="maker_ids")
    inputs = _ids(input_ids)
    if assessment_id:
        inputs = sorted(set(inputs) | {int(assessment_id)})
    if inputs:
        found = set(db.session.execute(select(Assessment.id).where(
            Assessment.id.in_(inputs), Assessment.accreditation_id == acc.id,
            Assessment.status.in_(REPORTED))).scalars())
        if found != set(inputs):
            raise ValidationFailed(_("Cite assessments of this accreditation whose report is "
                                     "issued."), field="input_ids")
    elif kind in NEEDS_INPUT:
        raise ValidationFailed(_("Cite the assessment (its report) the decision rests on."),
                               field="input_ids")
    stype = ext = None
    codes: list[str] = []
    if kind == K.suspend:
        try:
            stype = SuspensionType(suspension_type)
        except ValueError:
            raise ValidationFailed(_("Choose the type of suspension: imposed, voluntary or "
                                     "financial (rule 19)."), field="suspension_type") from None
        try:
            ext = Extent(extent)
        except ValueError:
            raise ValidationFailed(_("Choose full or partial suspension (rule 19)."),
                                   field="extent") from None
        codes = sorted({c.strip() for c in location_codes or () if c and c.strip()})
        if codes:
            from accreditor.cabs.models import CabLocation

            known = set(db.session.execute(select(CabLocation.code).where(
                CabLocation.cab_id == acc.cab_id, CabLocation.code.in_(codes))).scalars())
            if known != set(codes):
                raise ValidationFailed(_("Choose locations of this CAB."),
                                       field="location_codes")
    if kind == K.withdraw and extent:
        try:
            ext = Extent(extent)  # a resignation: full, or the lines named (rule 39)
        except ValueError:
            raise ValidationFailed(_("Choose full or partial withdrawal."),
                                   field="extent") from None
    suspension = None
    if kind in (K.extend_suspension, K.reinstate):
        suspension = _suspension(acc, kind, suspension_id)
    if kind == K.extend_suspension and new_max_end_on is None:
        raise ValidationFailed(_("Give the new maximum end of the suspension (rule 18)."),
                               field="max_end_on")
    if kind == K.reinstate and suspension is not None:
        items = _lines_under(acc, suspension.id, _ids(item_ids))
    else:
        items = _items(acc, kind, _ids(item_ids), ext, codes)
    return {"kind": kind, "rationale": rationale, "effective_on": effective_on,
            "maker_ids": makers, "input_ids": inputs, "items": items, "suspension_type": stype,
            "extent": ext, "location_codes": codes,
            "assessment_id": int(assessment_id) if assessment_id else None,
            "suspension": suspension, "new_max_end_on": new_max_end_on,
            "cab_request": cab_request, "light": light}


# -- suspensions: current ones, their maximum, the lines still under them (rule 18) ------------


def _still_under_stmt(acc_id: int | None = None):
    """(scope item id, suspension decision id) of each suspended line: its latest suspension
    event names the decision it is under (a line suspended again runs on the later one)."""
    latest = select(ScopeEvent.scope_item_id, func.max(ScopeEvent.id).label("event_id")).where(
        ScopeEvent.to_status == ItemStatus.suspended.value)
    if acc_id is not None:
        latest = latest.where(ScopeEvent.accreditation_id == acc_id)
    latest = latest.group_by(ScopeEvent.scope_item_id).subquery()
    return (select(ScopeEvent.scope_item_id, ScopeEvent.decision_id)
            .join(latest, latest.c.event_id == ScopeEvent.id)
            .join(ScopeItem, ScopeItem.id == ScopeEvent.scope_item_id)
            .where(ScopeItem.status == ItemStatus.suspended.value))


def current_suspensions(acc: Accreditation) -> list[Decision]:
    """The accreditation's suspension decisions under which a line is still suspended, newest
    first (one statement)."""
    under = _still_under_stmt(acc.id).subquery()
    return list(db.session.execute(select(Decision).where(
        Decision.accreditation_id == acc.id, Decision.kind == K.suspend.value,
        Decision.id.in_(select(under.c.decision_id))).order_by(Decision.id.desc())).scalars())


def suspension_maximum(suspension: Decision) -> date:
    """The suspension's maximum end: its own, or the latest extension's (rule 18)."""
    latest = db.session.execute(select(Decision.max_end_on).where(
        Decision.suspension_id == suspension.id, Decision.kind == K.extend_suspension.value)
        .order_by(Decision.id.desc()).limit(1)).scalar_one_or_none()
    return latest or suspension.max_end_on


def _suspension(acc: Accreditation, kind: DecisionKind, suspension_id) -> Decision | None:
    """The current suspension an extension extends or a reinstatement lifts. A reinstatement
    naming none lifts the only current one (several: choose)."""
    current = current_suspensions(acc)
    if suspension_id in (None, ""):
        if kind == K.reinstate and len(current) <= 1:
            return current[0] if current else None
        raise ValidationFailed(_("Choose the suspension."), field="suspension_id")
    try:
        wanted = int(suspension_id)
    except (TypeError, ValueError):
        raise ValidationFailed(_("Choose the suspension."), field="suspension_id") from None
    found = next((d for d in current if d.id == wanted), None)
    if found is None:
        raise ValidationFailed(_("Choose a current suspension of this accreditation: no line "
                                 "is still suspended under that one."), field="suspension_id")
    return found


def _lines_under(acc: Accreditation, suspension_id: int, ids: list[int]) -> list[ScopeItem]:
    """The lines still suspended under the suspension (default), or those named among them."""
    under = _still_under_stmt(acc.id).subquery()
    stmt = select(ScopeItem).where(ScopeItem.id.in_(
        select(under.c.scope_item_id).where(under.c.decision_id == suspension_id)))
    if ids:
        stmt = stmt.where(ScopeItem.id.in_(ids))
    rows = list(db.session.execute(stmt.order_by(ScopeItem.position, ScopeItem.id)).scalars())
    if ids and len(rows) != len(ids):
        raise ValidationFailed(_("Choose lines still suspended under the suspension lifted."),
                               field="items")
    return rows


# Which lines each kind acts on when none are named, and which it may act on.
_ACTS_ON = {
    K.grant: (ItemStatus.applied,), K.extend: (ItemStatus.applied,),
    K.refuse: (ItemStatus.applied,), K.reinstate: (ItemStatus.suspended,),
    K.suspend: (ItemStatus.accredited,),
    K.reduce: (ItemStatus.accredited, ItemStatus.suspended),
    K.withdraw: (ItemStatus.accredited, ItemStatus.suspended),
}


def _items(acc: Accreditation, kind: DecisionKind, ids: list[int], extent: Extent | None,
           codes: list[str]) -> list[ScopeItem]:
    if kind not in _ACTS_ON:
        return []
    statuses = [s.value for s in _ACTS_ON[kind]]
    stmt = select(ScopeItem).where(ScopeItem.accreditation_id == acc.id,
                                   ScopeItem.status.in_(statuses),
                                   scopes.line_visible_to_staff())
    if kind in GRANTING:
        # Only lines the AB has taken on: none of a submitted application it has not accepted.
        from accreditor.applications.models import Application, ApplicationStatus

        stmt = stmt.where(or_(ScopeItem.application_id.is_(None),
                              ScopeItem.application_id.in_(select(Application.id).where(
                                  Application.status == ApplicationStatus.accepted.value))))
    if (kind == K.withdraw and extent != Extent.partial) or (
            kind == K.suspend and extent == Extent.full):
        ids = []  # the whole live scope
    elif kind == K.suspend and not ids and codes:
        # A partial suspension by location: the lines performed there.
        rows = db.session.execute(stmt).scalars().all()
        return [i for i in rows if (i.fields or {}).get("location") in codes]
    if ids:
        rows = list(db.session.execute(stmt.where(ScopeItem.id.in_(ids))
                                       .order_by(ScopeItem.position, ScopeItem.id)).scalars())
        if len(rows) != len(ids):
            raise ValidationFailed(_("Choose lines this decision can act on (%(s)s lines).",
                                     s=", ".join(statuses)), field="items")
        return rows
    if kind in (K.reduce,) or (kind in (K.suspend, K.withdraw) and extent == Extent.partial):
        return []  # must be named: checked as a refusal (rule 19) or below
    return list(db.session.execute(stmt.order_by(ScopeItem.position, ScopeItem.id)).scalars())


def _concerned_assessments(acc: Accreditation, inputs: list[int]) -> set[int]:
    from accreditor.findings.models import Finding, ProposalStatus, SanctionProposal

    unanswered = select(Assessment.id).where(
        Assessment.accreditation_id == acc.id, Assessment.status.in_(REPORTED),
        Assessment.recommendation.is_not(None),
        Assessment.id.notin_(select(Decision.assessment_id).where(
            Decision.assessment_id.is_not(None))))
    proposed = select(Finding.assessment_id).join(
        SanctionProposal, SanctionProposal.finding_id == Finding.id).where(
        SanctionProposal.accreditation_id == acc.id,
        SanctionProposal.status == ProposalStatus.proposed.value)
    return set(inputs) | set(db.session.execute(unanswered).scalars()) | set(
        db.session.execute(proposed).scalars())


# Kinds whose form ticks, at first, the lines the decision acts on when none are named.
PRESELECTED = frozenset({K.grant, K.extend, K.refuse, K.reinstate})


def default_line_ids(acc: Accreditation, kind: DecisionKind | None) -> list[int]:
    """The lines a grant, extension, refusal or reinstatement acts on when none are named (for
    the form to tick first): the same selection the decision makes."""
    if kind not in PRESELECTED:
        return []
    return [i.id for i in _items(acc, kind, [], None, [])]


def check_decision(acc: Accreditation, clean: dict, *, today: date | None = None
                   ) -> list[Refusal]:
    """Every rule the proposed decision breaks (empty: it may be recorded)."""
    from accreditor.assessments import md17
    from accreditor.assessments import programme as programme_rules
    from accreditor.findings.services import open_blocking_findings

    today = today or date.today()
    kind, makers, inputs = clean["kind"], clean["maker_ids"], clean["input_ids"]
    out: list[Refusal] = []
    names = dict(decision_makers())
    # Rule 1: nobody who assessed decides — on the cited reports, on the reports of this
    # accreditation still awaiting a decision, and on the findings whose proposals it settles.
    concerned = _concerned_assessments(acc, inputs)
    if concerned and makers:
        for uid, aid in db.session.execute(
                select(TeamAssignment.user_id, TeamAssignment.assessment_id).where(
                    TeamAssignment.assessment_id.in_(concerned),
                    TeamAssignment.user_id.in_(makers))
                .order_by(TeamAssignment.assessment_id)).all():
            out.append(Refusal("1", "maker_on_team", _(
                "Refused (rule 1): %(n)s was on the team of assessment %(a)s, which this "
                "decision rests on, and cannot take it.", n=names.get(uid, uid), a=aid)))
    # Rule 2: consultants never decide.
    lookback = TenantPolicy.current().consultancy_lookback_years
    since = today - relativedelta(years=lookback)
    for uid in sorted(set(db.session.execute(select(InterestDeclaration.user_id).where(
            InterestDeclaration.user_id.in_(makers),
            InterestDeclaration.kind == InterestKind.consultancy.value,
            InterestDeclaration.started_on <= today,
            or_(InterestDeclaration.ended_on.is_(None),
                InterestDeclaration.ended_on >= since))).scalars())):
        out.append(Refusal("2", "maker_consults", _(
            "Refused (rule 2): %(n)s has a recorded consultancy relationship with a CAB in the "
            "last %(y)d years; a consultant never takes accreditation decisions.",
            n=names.get(uid, uid), y=lookback)))
    if kind in GRANTING:
        if not clean["items"]:
            out.append(Refusal("scope", "nothing_applied", _(
                "There are no requested lines to grant.")))
        blocking = open_blocking_findings(acc, for_grant=True)
        if blocking:
            out.append(Refusal("13", "open_findings", _(
                "Refused (rule 13): nonconformities %(refs)s are not closed with accepted "
                "evidence.", refs=", ".join(f.reference for f in blocking))))
        critical = md17.overdue_critical(acc, today=today)
        if critical:
            out.append(Refusal("34", "witness_coverage", _(
                "Refused (rule 34): critical IAF codes %(c)s are overdue for witnessing or were "
                "never witnessed (IAF MD 17).",
                c=", ".join(sorted({f"{r.standard} {r.code}" for r in critical})))))
        if acc.programme.needs_ib_type and not acc.ib_type:
            out.append(Refusal("32", "ib_type_required", _(
                "Refused (rule 32): record the inspection body's type (A, B or C) before "
                "granting (ISO/IEC 17020, ILAC P15).")))
    if kind == K.extend and acc.status == AccreditationStatus.suspended:
        out.append(Refusal("21", "fully_suspended", _(
            "Refused (rule 21): the accreditation is fully suspended; no extension while it "
            "is.")))
    if kind == K.grant and acc.initial_grant_on is not None:
        out.append(Refusal("scope", "already_granted", _(
            "This accreditation was granted on %(d)s: record an extension.",
            d=acc.initial_grant_on.isoformat())))
    if kind == K.extend and acc.initial_grant_on is None:
        out.append(Refusal("scope", "not_granted", _(
            "Nothing is accredited yet: record an initial grant.")))
    if kind == K.reinstate:
        stale = [p for p in programme_rules.check_programme(acc, today=today)
                 if p.code == "reinstatement_needs_onsite"]
        for p in stale:
            out.append(Refusal("10", p.code, p.message))
        if not stale and open_blocking_findings(acc):
            out.append(Refusal("10", "findings_not_cleared", _(
                "Refused (rule 10): the findings of the on-site assessment are not cleared.")))
        if not clean["items"]:
            out.append(Refusal("scope", "nothing_suspended", _("No line is suspended.")))
    if kind == K.suspend and clean["extent"] == Extent.full and not clean["items"]:
        out.append(Refusal("19", "nothing_to_suspend", _(
            "Nothing accredited to suspend: every line is already suspended (or none is "
            "accredited). Extend the current suspension instead.")))
    if kind == K.suspend and clean["extent"] == Extent.partial and not clean["items"]:
        out.append(Refusal("19", "partial_names_nothing", _(
            "Refused (rule 19): a partial suspension names at least one scope line or a "
            "location with lines.")))
    if kind == K.refuse and not clean["items"]:
        out.append(Refusal("scope", "nothing_to_refuse", _(
            "There are no requested lines to refuse.")))
    if kind == K.reduce and not clean["items"]:
        out.append(Refusal("scope", "reduce_names_nothing", _(
            "Name the lines removed from the scope.")))
    if kind == K.withdraw and clean["extent"] == Extent.partial and not clean["items"]:
        out.append(Refusal("39", "partial_names_nothing", _(
            "Refused (rule 39): a partial withdrawal names the lines it withdraws.")))
    if kind == K.extend_suspension:
        out.extend(_extension_refusals(clean["suspension"], clean["new_max_end_on"]))
    if kind == K.inactive:
        req = clean["cab_request"]
        if req is None or req.kind != "inactive":
            out.append(Refusal("22", "not_requested", _(
                "Refused (rule 22): inactive status is granted only on the CAB's written "
                "request.")))
        if acc.status != AccreditationStatus.accredited:
            out.append(Refusal("22", "not_active", _(
                "Only an accredited accreditation, not suspended, becomes inactive.")))
    if kind == K.reactivate and acc.status != AccreditationStatus.inactive:
        out.append(Refusal("22", "not_inactive", _("This accreditation is not inactive.")))
    return out


def _extension_refusals(suspension: Decision, new_max: date) -> list[Refusal]:
    """Rule 18: an extension moves the maximum later, to at most the suspension's start plus
    ``max_suspension_extended_months``."""
    out = []
    months = TenantPolicy.current().max_suspension_extended_months
    limit = suspension.effective_on + relativedelta(months=months)
    current = suspension_maximum(suspension)
    if new_max <= current:
        out.append(Refusal("18", "not_later", _(
            "The new maximum end must be later than the current one (%(d)s).",
            d=current.isoformat())))
    if new_max > limit:
        out.append(Refusal("18", "beyond_extended_maximum", _(
            "Refused (rule 18): a suspension lasts at most %(m)d months even when extended; "
            "this one cannot run beyond %(d)s.", m=months, d=limit.isoformat())))
    return out


# -- recording ----------------------------------------------------------------------------------


def record_decision(acc: Accreditation, *, kind, rationale, effective_on, maker_ids,
                    input_ids=(), item_ids=(), assessment_id=None, suspension_type=None,
                    extent=None, location_codes=(), suspension_id=None, max_end_on=None,
                    cab_request=None, light_path: bool = False, prechecked: bool = False,
                    today: date | None = None) -> Decision:
    """Check, then record the decision and carry it out (see the module's docstring).
    ``prechecked``: the makers' rules were applied when the decision was taken (a resignation
    accepted earlier, carried out on its date by the daily job)."""
    if acting_user() is not None and not has_role(*RECORDERS):
        raise PermissionDenied(_("Only a decision maker (or a manager recording a committee's "
                                 "decision) records decisions."))
    # One decision at a time per accreditation (line statuses, the next schedule issue), then
    # the accreditation with its programme (the IB-type rule and the grant read it).
    db.session.execute(select(Accreditation.id).where(Accreditation.id == acc.id)
                       .with_for_update())
    acc = db.session.execute(select(Accreditation).where(Accreditation.id == acc.id)
                             .options(joinedload(Accreditation.programme))).scalar_one()
    if not acc.is_live and acc.status != AccreditationStatus.applicant:
        raise Conflict(_("This accreditation is %(s)s: no decision can be recorded on it.",
                         s=acc.status.replace("_", " ")), code="accreditation_closed")
    clean = _clean(acc, kind=kind, rationale=rationale, effective_on=effective_on,
                   maker_ids=maker_ids, input_ids=input_ids, item_ids=item_ids,
                   assessment_id=assessment_id, suspension_type=suspension_type,
                   extent=extent, location_codes=location_codes, suspension_id=suspension_id,
                   new_max_end_on=max_end_on, cab_request=cab_request, light=light_path,
                   prechecked=prechecked, today=today)
    refusals = check_decision(acc, clean, today=today)
    if prechecked:
        refusals = [r for r in refusals if r.rule not in ("1", "2")]
    if refusals:
        raise DecisionRefused(refusals)
    kind, on = clean["kind"], clean["effective_on"]
    user = acting_user()
    policy = TenantPolicy.current()
    decision = Decision(
        cab_id=acc.cab_id, accreditation_id=acc.id, kind=kind.value,
        rationale=clean["rationale"], effective_on=on,
        recorded_by_id=user.id if user is not None else None,
        assessment_id=clean["assessment_id"],
        suspension_type=clean["suspension_type"].value if clean["suspension_type"] else None,
        extent=clean["extent"].value if clean["extent"] else None,
        location_codes=clean["location_codes"],
        max_end_on=(on + relativedelta(months=policy.max_suspension_months)
                    if kind == K.suspend else clean["new_max_end_on"]
                    if kind == K.extend_suspension else None),
        suspension_id=clean["suspension"].id if clean["suspension"] is not None else None,
        cab_request_id=cab_request.id if cab_request is not None else None,
        light_path=bool(light_path))
    db.session.add(decision)
    db.session.flush()
    item_ids = [i.id for i in clean["items"]]
    db.session.add_all([DecisionMaker(decision_id=decision.id, cab_id=acc.cab_id, user_id=u)
                        for u in clean["maker_ids"]]
                       + [DecisionInput(decision_id=decision.id, cab_id=acc.cab_id,
                                        assessment_id=a) for a in clean["input_ids"]])
    db.session.flush()
    # The lines, copied by the database from the scope (one INSERT … SELECT per 1,000 lines, not
    # one row of parameters per line); the lines were loaded through the tenant filter and the
    # SELECT repeats the tenant.
    for start in range(0, len(item_ids), 1000):
        db.session.execute(DecisionItem.__table__.insert().from_select(
            ["tenant_id", "cab_id", "decision_id", "scope_item_id"],
            select(ScopeItem.tenant_id, ScopeItem.cab_id, literal(decision.id, Integer()),
                   ScopeItem.id).where(ScopeItem.id.in_(item_ids[start:start + 1000]),
                                       ScopeItem.tenant_id == acc.tenant_id)))
    audit.record("decision.recorded", decision, changes={
        **audit.snapshot(decision, ("kind", "effective_on", "rationale", "assessment_id",
                                    "suspension_type", "extent", "max_end_on", "suspension_id",
                                    "cab_request_id", "light_path")),
        "maker_ids": [None, clean["maker_ids"]], "input_ids": [None, clean["input_ids"]],
        "item_ids": [None, item_ids]})
    _carry_out(acc, decision, clean)
    if kind in SCOPE_CHANGING:
        decision.schedule_issue = issue_schedule(acc, decision).issue_no
        db.session.flush()
    else:  # a reassessment's decision moves the cycle dates the certificate shows (rule 28)
        version = reissue_if_details_changed(acc, decision)
        if version is not None:
            decision.schedule_issue = version.issue_no
            db.session.flush()
    _settle_proposals(acc, decision)
    directory.publish(acc, decision=decision)
    _tell_cab(acc, decision)
    return decision


def _carry_out(acc: Accreditation, decision: Decision, clean: dict) -> None:
    kind, on, ids = clean["kind"], clean["effective_on"], [i.id for i in clean["items"]]
    reason = clean["rationale"]
    if kind in GRANTING:
        scopes.grant(acc, effective_on=on, item_ids=ids, decision_id=decision.id)
    elif kind == K.suspend:
        scopes.suspend(acc, item_ids=ids, effective_on=on,
                       reason_code=SUSPENSION_REASONS[clean["suspension_type"]], reason=reason,
                       decision_id=decision.id)  # rule 8: the cycle end does not move
    elif kind == K.reinstate:
        scopes.reinstate(acc, item_ids=ids, effective_on=on, reason=reason,
                         decision_id=decision.id)
    elif kind == K.reduce:
        scopes.reduce(acc, item_ids=ids, effective_on=on, reason=reason, decision_id=decision.id)
    elif kind == K.withdraw and clean["extent"] == Extent.partial:
        scopes.change_items(acc, clean["items"], ItemStatus.withdrawn, effective_on=on,
                            reason_code=ReasonCode.voluntary if decision.cab_request_id
                            else ReasonCode.withdrawal, reason=reason, decision_id=decision.id)
    elif kind == K.withdraw:
        scopes.withdraw(acc, effective_on=on, voluntary=decision.cab_request_id is not None,
                        reason=reason, decision_id=decision.id)
    elif kind in (K.inactive, K.reactivate):
        scopes.set_inactive(acc, active=kind == K.reactivate)
        if kind == K.reactivate:
            _dismiss_inactive_proposals(acc, decision)
    elif kind == K.refuse:
        if clean["items"]:
            scopes.change_items(acc, clean["items"], ItemStatus.refused, effective_on=on,
                                reason_code=ReasonCode.refusal, reason=reason,
                                decision_id=decision.id)
        still_applied = db.session.execute(select(ScopeItem.id).where(
            ScopeItem.accreditation_id == acc.id,
            ScopeItem.status == ItemStatus.applied.value).limit(1)).first()
        if acc.status == AccreditationStatus.applicant and still_applied is None:
            acc.status = AccreditationStatus.refused.value
            db.session.flush()
            audit.record("accreditation.status_changed", acc, changes={
                "status": [AccreditationStatus.applicant.value, acc.status]})
    if kind in RENEWING and _answers_reassessment(clean["assessment_id"], decision.id):
        _next_cycle(acc, on)
    elif kind == K.follow_up:
        _plan_follow_up(acc, clean["input_ids"], on, decision)


FOLLOW_UP_AFTER = relativedelta(months=1)


def _plan_follow_up(acc: Accreditation, input_ids: list[int], on: date,
                    decision: Decision) -> None:
    """A draft follow-up assessment a month on, at the cited assessment's locations: the
    planner moves it and proposes its team as usual. The open findings of the cited
    assessments (not yet handed to another) are handed to it."""
    from accreditor.assessments import services as assessments
    from accreditor.findings.models import OPEN_STATUSES, Finding

    codes = db.session.execute(select(Assessment.location_codes).where(
        Assessment.id.in_(input_ids)).order_by(Assessment.planned_start_on.desc())
        .limit(1)).scalar_one_or_none() or []
    start = on + FOLLOW_UP_AFTER
    follow_up = assessments.create_assessment(acc, AssessmentType.follow_up.value, "onsite",
                                              start, start, codes)
    reason = _("Decision %(n)d requires a follow-up assessment.", n=decision.id)
    for finding in db.session.execute(select(Finding).where(
            Finding.assessment_id.in_(input_ids), Finding.status.in_(OPEN_STATUSES),
            Finding.followed_up_in_id.is_(None)).order_by(Finding.id)).scalars():
        finding.followed_up_in_id, finding.follow_up_reason = follow_up.id, reason
        changes = audit.diff(finding)
        db.session.flush()
        audit.record("finding.handed_over", finding, changes=changes)


def _dismiss_inactive_proposals(acc: Accreditation, decision: Decision) -> None:
    """Reactivation answers the proposed withdrawal of a long inactive accreditation."""
    from accreditor.findings.models import ProposalSource, ProposalStatus, SanctionProposal

    for p in db.session.execute(select(SanctionProposal).where(
            SanctionProposal.accreditation_id == acc.id,
            SanctionProposal.source == ProposalSource.inactive_cap.value,
            SanctionProposal.status == ProposalStatus.proposed.value)).scalars():
        p.status = ProposalStatus.dismissed.value
        p.resolved_at = utcnow()
        p.resolved_by_id = decision.recorded_by_id
        p.resolution = _("Reactivated by decision %(n)d.", n=decision.id)
        changes = audit.diff(p)
        db.session.flush()
        audit.record("sanction_proposal.dismissed", p, changes=changes)


# Decisions on a reassessment that continue the accreditation start its next cycle.
RENEWING = frozenset({K.maintain, K.extend, K.reduce})


def _answers_reassessment(assessment_id: int | None, decision_id: int) -> bool:
    """The decision answers a reassessment's report that no earlier decision answered."""
    if assessment_id is None:
        return False
    if db.session.execute(select(Assessment.type).where(
            Assessment.id == assessment_id)).scalar_one() != AssessmentType.reassessment.value:
        return False
    return db.session.execute(select(Decision.id).where(
        Decision.assessment_id == assessment_id, Decision.id != decision_id).limit(1)
    ).first() is None


def _next_cycle(acc: Accreditation, on: date) -> None:
    """A decision on a reassessment starts the next cycle on its date (rule 7, FAQ 20)."""
    months = TenantPolicy.current().cycle_length_months
    acc.cycle_start_on = on
    acc.cycle_end_on = min(on + relativedelta(months=months), on + MAX_CYCLE)
    changes = audit.diff(acc)
    db.session.flush()
    audit.record("accreditation.cycle_renewed", acc, changes=changes)


def issue_schedule(acc: Accreditation, decision: Decision | None, *,
                   issued_on: date | None = None) -> ScheduleVersion:
    """The next issue of the schedule (rule 28): the live lines as they now stand, dated the
    decision's effective date (or ``issued_on``, or today)."""
    last = db.session.execute(select(func.max(ScheduleVersion.issue_no)).where(
        ScheduleVersion.accreditation_id == acc.id)).scalar_one() or 0
    lines = db.session.execute(select(ScopeItem).where(
        ScopeItem.accreditation_id == acc.id,
        ScopeItem.status.in_([ItemStatus.accredited.value, ItemStatus.suspended.value]))
        .order_by(ScopeItem.position, ScopeItem.id)).scalars()
    version = ScheduleVersion(
        cab_id=acc.cab_id, accreditation_id=acc.id, issue_no=last + 1,
        issued_on=(decision.effective_on if decision is not None
                   else issued_on or date.today()),
        decision_id=decision.id if decision is not None else None, status=acc.status,
        lines=[{"id": i.id, "position": i.position, "status": i.status, "summary": i.summary,
                "fields": i.fields} for i in lines])
    db.session.add(version)
    db.session.flush()
    audit.record("schedule.issued", version, changes={
        "issue_no": [last or None, version.issue_no], "lines": [None, len(version.lines)]})
    certificates.issue_documents(version)
    return version


# What the documents show that is not a detail of the accreditation: the issue itself, the lines
# (a scope change is a decision's), the AB's own identity, the verification address.
_NOT_DETAILS = frozenset({"status", "issue_no", "issued_on", "terms", "ms_titles",
                          "suspended_locations", "ab", "verify_url"})


def _shown_details(details: dict) -> dict:
    """What the documents print of a snapshot: active locations with their code, name,
    address and activities (not their kind or critical flag), and the rest but the issue."""
    shown = {k: v for k, v in (details or {}).items() if k not in _NOT_DETAILS}
    shown["locations"] = [{k: loc.get(k) for k in ("code", "name", "address", "activities")}
                          for loc in shown.get("locations") or [] if loc.get("is_active", True)]
    return shown


def reissue_if_details_changed(acc: Accreditation,
                               decision: Decision | None = None) -> ScheduleVersion | None:
    """Rule 28: the schedule's issue number goes up on every *detail* change too — the CAB's
    name, address, locations or public contact, the standard's edition, the IB type, the cycle
    or expiry dates. Issues the next schedule (the lines as they stand) when what the last issue
    shows differs from the accreditation as it now stands; nothing before the first issue, once
    the accreditation has ended, or when nothing shown changed. In the caller's transaction."""
    if acc.status_enum not in LIVE_STATUSES or acc.status_enum == AccreditationStatus.applicant:
        return None
    last = db.session.execute(select(ScheduleVersion).where(
        ScheduleVersion.accreditation_id == acc.id).order_by(
        ScheduleVersion.issue_no.desc()).limit(1)).scalar_one_or_none()
    if last is None or not last.details:  # an issue from before snapshots: nothing to compare
        return None
    now, then = _shown_details(certificates.snapshot(last)), _shown_details(last.details)
    keys = set(now) & set(then)  # a key added to the snapshot later is not a change
    if all(now[k] == then[k] for k in keys):
        return None
    return issue_schedule(acc, decision)


def reissue_cab_schedules(cab_id: int) -> int:
    """After a CAB's details changed: the next schedule issue of each of its live
    accreditations whose documents show what changed; how many were issued."""
    accs = db.session.execute(select(Accreditation).where(
        Accreditation.cab_id == cab_id).order_by(Accreditation.id)).scalars().all()
    return sum(1 for acc in accs if reissue_if_details_changed(acc) is not None)


def _settle_proposals(acc: Accreditation, decision: Decision) -> None:
    """A suspension, refusal or withdrawal settles the open proposed sanctions of the
    accreditation's findings (they were proposals for this decision)."""
    from accreditor.findings.models import ProposalStatus, SanctionProposal

    if decision.kind not in (K.suspend, K.refuse, K.withdraw, K.reduce):
        return
    whole = decision.kind == K.withdraw or decision.extent == Extent.full or (
        decision.kind == K.refuse and acc.status == AccreditationStatus.refused)
    acted_on = set(db.session.execute(select(DecisionItem.scope_item_id).where(
        DecisionItem.decision_id == decision.id)).scalars())
    for p in db.session.execute(select(SanctionProposal).where(
            SanctionProposal.accreditation_id == acc.id,
            SanctionProposal.status == ProposalStatus.proposed.value)).scalars():
        # Settled only when the decision covers its lines (an empty list: the whole scope).
        if not whole and (not p.scope_item_ids or not set(p.scope_item_ids) <= acted_on):
            continue
        p.status = ProposalStatus.decided.value
        p.resolved_at = utcnow()
        p.resolved_by_id = decision.recorded_by_id
        p.resolution = _("Decision %(n)s: %(k)s.", n=decision.id, k=decision.kind)
        changes = audit.diff(p)
        db.session.flush()
        audit.record("sanction_proposal.decided", p, changes=changes)


def _tell_cab(acc: Accreditation, decision: Decision) -> None:
    from accreditor.cabs.services import cab_user_emails
    from accreditor.core.mail import send_mail
    from accreditor.core.web import external_url

    link = external_url("tenant.portal.accreditation", accreditation_id=acc.id)
    for email in cab_user_emails(acc.cab_id):
        send_mail(email, _("Accreditation decision: %(k)s (%(n)s)", k=decision.kind,
                           n=acc.number or acc.id), "decision_recorded", decision=decision,
                  accreditation=acc, link=link)


def decisions_of(acc: Accreditation) -> list[Decision]:
    return list(db.session.execute(select(Decision).where(
        Decision.accreditation_id == acc.id).order_by(Decision.decided_at.desc(),
                                                      Decision.id.desc())).scalars())


def schedules_of(acc: Accreditation) -> list[ScheduleVersion]:
    return list(db.session.execute(select(ScheduleVersion).where(
        ScheduleVersion.accreditation_id == acc.id).order_by(ScheduleVersion.issue_no.desc())
    ).scalars())


# -- the lighter path for clean surveillance outcomes (issue 6 point 1) -------------------------

LIGHT_CONFIRMERS = (Role.manager, Role.decision_maker)


def raised_counts(assessment_ids: Iterable[int]) -> dict[int, int]:
    """How many findings (any grade, not withdrawn, issued or not) each assessment raised."""
    from accreditor.findings.models import Finding, FindingStatus

    ids = list(assessment_ids)
    if not ids:
        return {}
    return dict(db.session.execute(
        select(Finding.assessment_id, func.count(Finding.id))
        .where(Finding.assessment_id.in_(ids),
               Finding.status != FindingStatus.withdrawn.value)
        .group_by(Finding.assessment_id)).all())


def light_path_open(a: Assessment) -> bool:
    """The report may be confirmed on the lighter path (the setting aside): a surveillance
    report recommending "maintain" that no decision answered."""
    return (a.type == AssessmentType.surveillance.value and a.recommendation == "maintain"
            and a.status in REPORTED)


def confirm_light(assessment: Assessment, *, today: date | None = None) -> Decision:
    """A manager (or decision maker) confirms a clean surveillance outcome in one step: a
    ``maintain`` decision marked as taken on the lighter path. Refused when the tenant has not
    turned the path on, when the report is not a surveillance recommending "maintain", when
    the assessment raised any finding or the accreditation has an open one, and, as for every
    decision, when the person was on the team (rule 1) or consults (rule 2)."""
    from accreditor.findings.services import open_blocking_findings

    user = acting_user()
    if user is None or not has_role(*LIGHT_CONFIRMERS):
        raise PermissionDenied(_("Only a manager or a decision maker confirms a surveillance "
                                 "outcome on the lighter path."))
    if not TenantPolicy.current().light_surveillance_decisions:
        raise Conflict(_("The lighter path for clean surveillance outcomes is off: record the "
                         "decision with the full form."), code="light_path_off")
    if not light_path_open(assessment):
        raise Conflict(_("Only a surveillance report recommending to maintain the "
                         "accreditation is confirmed on the lighter path."),
                       code="light_path_not_surveillance")
    acc = db.session.execute(select(Accreditation).where(
        Accreditation.id == assessment.accreditation_id)).scalar_one()
    if raised_counts([assessment.id]) or open_blocking_findings(acc):
        raise Conflict(_("This surveillance raised findings, or the accreditation has open "
                         "ones: record the decision with the full form."),
                       code="light_path_findings")
    if db.session.execute(select(Decision.id).where(
            Decision.assessment_id == assessment.id).limit(1)).first() is not None:
        raise Conflict(_("A decision already answers this report."), code="already_answered")
    return record_decision(
        acc, kind=K.maintain, effective_on=today or date.today(), maker_ids=[user.id],
        input_ids=[assessment.id], assessment_id=assessment.id, light_path=True,
        rationale=_("Confirmed on the lighter path: the surveillance report of assessment "
                    "%(n)d recommends maintaining the accreditation; no finding was raised and "
                    "none is open.", n=assessment.id), today=today)


def decisions_page(acc: Accreditation, page: int, size: int) -> tuple[list[Decision], int]:
    """One page of the accreditation's decisions, newest first, and their number."""
    total = db.session.execute(select(func.count(Decision.id)).where(
        Decision.accreditation_id == acc.id)).scalar_one()
    rows = list(db.session.execute(select(Decision).where(
        Decision.accreditation_id == acc.id).order_by(Decision.decided_at.desc(),
                                                      Decision.id.desc())
        .limit(size).offset((page - 1) * size)).scalars())
    return rows, total
