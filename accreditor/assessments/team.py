"""Team appointment: the checks that refuse a team (rules 3, 5, 37, double booking), the CAB's
objection window (rule 4) and objections.

:func:`check_team` runs a fixed number of queries whatever the size of the scope or the sample
(the sample's items once, the members' authorisations once, declarations once, clashes once …)
and evaluates coverage in Python with sets, so a 2,000-line sample with a 10-person team stays
well under the time budget (``bench/team_checks.py``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from sqlalchemy import delete, select

from accreditor.assessments.models import (
    TEAM_ROLE_AUTHORISATION,
    Assessment,
    AssessmentItem,
    AssessmentStatus,
    AssessorAuthorisation,
    AssessorProfile,
    AuthorisationRole,
    AuthorisationStatus,
    InterestDeclaration,
    InterestKind,
    ObjectionStatus,
    TeamAssignment,
    TeamObjection,
    TeamRole,
)
from accreditor.auth.models import Membership, MembershipRole, User
from accreditor.cabs import services as cab_services
from accreditor.cabs.models import Cab
from accreditor.core import audit
from accreditor.core.db import utcnow
from accreditor.core.errors import Conflict, PermissionDenied, ValidationFailed
from accreditor.core.mail import send_mail
from accreditor.core.permissions import Role, acting_user
from accreditor.core.web import external_url
from accreditor.extensions import db
from accreditor.refdata import services as refdata
from accreditor.refdata.models import Programme, ScopeType, TermKind
from accreditor.scopes.models import Accreditation, ScopeItem
from accreditor.tenants.models import TenantPolicy

S = AssessmentStatus
COMPETENT_ROLES = frozenset({TeamRole.lead, TeamRole.assessor})  # rule 5: TEs/observers don't count
# Rule 5: the authorisations whose areas count as a member's competence for the sample. The lead
# needs a lead assessor authorisation to lead, but their assessor authorisations for other
# areas cover lines too, as for anyone on the team as an assessor.
COVERAGE_AUTHORISATION = {role: frozenset(r.value for r in TEAM_ROLE_AUTHORISATION[
    TeamRole.assessor if role == TeamRole.lead else role]) for role in TeamRole}
# Statuses in which the team may still be changed.
TEAM_EDITABLE = frozenset({S.draft})
# The team is named to the CAB and the assessment has not started: the CAB may object and the
# manager may reopen the team.
OBJECTABLE = frozenset({S.team_proposed, S.team_confirmed, S.plan_approved})


# -- technical areas of a scope line ------------------------------------------------------------

# (area_kind, field name) pairs whose codes say which technical area a line belongs to.
AREA_FIELDS: dict[ScopeType, tuple[tuple[str, str], ...]] = {
    ScopeType.testing: ((TermKind.testing_field.value, "field"),),
    ScopeType.calibration: ((TermKind.calibration_discipline.value, "discipline"),),
    ScopeType.inspection: ((TermKind.inspection_field.value, "field"),),
    ScopeType.ms_certification: ((TermKind.iaf_code.value, "iaf_codes"),
                                 (TermKind.food_chain.value, "food_chain"),
                                 (TermKind.md9_area.value, "md9_areas")),
    ScopeType.person_certification: (("scheme", "scheme"),),
    ScopeType.generic: (),
}
CLUSTER_PREFIX = "cluster:"


def item_areas(scope_type: ScopeType, fields: dict) -> frozenset[tuple[str, str]]:
    """The (area_kind, code) pairs a scope line needs covered."""
    out: set[tuple[str, str]] = set()
    for kind, name in AREA_FIELDS.get(scope_type, ()):
        value = (fields or {}).get(name)
        values = value if isinstance(value, list) else [value] if value else []
        out.update((kind, str(v)) for v in values if str(v).strip())
    return frozenset(out)


# -- results ------------------------------------------------------------------------------------


@dataclass
class Problem:
    code: str
    rule: str | None
    message: str
    user_id: int | None = None
    item_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        out: dict = {"code": self.code, "rule": self.rule, "message": self.message}
        if self.user_id is not None:
            out["user_id"] = self.user_id
        if self.item_ids:
            out["item_ids"] = self.item_ids
        return out


@dataclass
class ItemCoverage:
    item_id: int
    summary: str
    covered_by: list[int]  # users (lead/assessor) whose authorisations cover the line
    te_only: bool = False  # only a technical expert / observer could cover it

    @property
    def covered(self) -> bool:
        return bool(self.covered_by)


@dataclass
class TeamCheckResult:
    problems: list[Problem] = field(default_factory=list)
    coverage: dict[int, ItemCoverage] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    queries: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def for_user(self, user_id: int) -> list[Problem]:
        return [p for p in self.problems if p.user_id == user_id]

    @property
    def messages(self) -> list[str]:
        return [p.message for p in self.problems]


# -- the checks ---------------------------------------------------------------------------------


def _is_current(auth: AssessorAuthorisation, start: date, end: date) -> bool:
    """Approved and valid over the whole assessment (``valid_to`` is the first day it stops)."""
    return (auth.status == AuthorisationStatus.approved and auth.valid_from <= start
            and (auth.valid_to is None or end < auth.valid_to))


def _overlaps(started: date, ended: date | None, lo: date, hi: date) -> bool:
    return started <= hi and (ended is None or ended >= lo)


def monitoring_overdue(last: date | None, interval_months: int, on: date | None = None) -> bool:
    """Rule 37: never monitored, or last monitored on site longer ago than the tenant's
    interval (on ``on``, default today)."""
    on = on or date.today()
    return last is None or last < on - relativedelta(months=interval_months)


def check_team(assessment: Assessment, members: Sequence[tuple[int, TeamRole | str]], *,
               start: date | None = None, end: date | None = None) -> TeamCheckResult:
    """Every reason the team cannot be appointed: lead and authorisations, coverage of the
    sample (rule 5), conflicts of interest (rule 3), double booking, lead monitoring (rule 37).
    ``start``/``end`` check new dates before they are saved (default: the planned ones).
    A fixed number of queries whatever the scope size."""
    result = TeamCheckResult()
    problems = result.problems
    start = start or assessment.planned_start_on
    end = end or assessment.planned_end_on
    team = [(int(uid), TeamRole(role)) for uid, role in members]
    user_ids = sorted({uid for uid, _role in team})

    policy = TenantPolicy.current()
    acc, programme = db.session.execute(
        select(Accreditation, Programme).join(Programme, Programme.id == Accreditation.programme_id)
        .where(Accreditation.id == assessment.accreditation_id)
    ).one()
    scope_type = ScopeType(programme.scope_type)
    items = db.session.execute(
        select(ScopeItem.id, ScopeItem.fields, ScopeItem.summary)
        .join(AssessmentItem, AssessmentItem.scope_item_id == ScopeItem.id)
        .where(AssessmentItem.assessment_id == assessment.id)
        .order_by(ScopeItem.position, ScopeItem.id)
    ).all()
    users = dict(db.session.execute(
        select(User.id, User.name).where(User.id.in_(user_ids))).all()) if user_ids else {}
    result.names = users
    auths = db.session.execute(
        select(AssessorAuthorisation).where(AssessorAuthorisation.user_id.in_(user_ids),
                                            AssessorAuthorisation.programme_id == programme.id)
    ).scalars().all() if user_ids else []
    auths = [a for a in auths if _is_current(a, start, end)]
    profiles = {p.user_id: p for p in db.session.execute(
        select(AssessorProfile).where(AssessorProfile.user_id.in_(user_ids))).scalars()} \
        if user_ids else {}
    queries = 4 + (3 if user_ids else 0)

    def name(uid: int) -> str:
        return users.get(uid, f"#{uid}")

    # Team shape: one lead, nobody twice, a known person.
    seen: set[int] = set()
    for uid, _role in team:
        if uid in seen:
            problems.append(Problem("duplicate_member", None, _(
                "%(n)s is on the team twice.", n=name(uid)), user_id=uid))
        seen.add(uid)
        if uid not in users:
            problems.append(Problem("unknown_user", None, _(
                "User #%(id)d does not exist.", id=uid), user_id=uid))
    leads = [uid for uid, role in team if role == TeamRole.lead]
    if not leads:
        problems.append(Problem("lead_required", None, _("The team needs a lead assessor.")))
    elif len(leads) > 1:
        problems.append(Problem("one_lead", None, _("A team has exactly one lead assessor.")))

    # Authorisation for the team role in this programme.
    auth_roles: dict[int, set[str]] = defaultdict(set)
    for a in auths:
        auth_roles[a.user_id].add(a.role)
    for uid, role in team:
        allowed = {r.value for r in TEAM_ROLE_AUTHORISATION[role]}
        if auth_roles[uid] & allowed:
            continue
        if role == TeamRole.lead:
            problems.append(Problem("lead_not_authorised", None, _(
                "%(n)s holds no current lead assessor authorisation for %(p)s.",
                n=name(uid), p=programme.name), user_id=uid))
        else:
            problems.append(Problem("role_not_authorised", None, _(
                "%(n)s holds no current authorisation for %(p)s that allows the role %(r)s.",
                n=name(uid), p=programme.name, r=role.value.replace("_", " ")), user_id=uid))

    # Rule 37: the lead's on-site monitoring.
    interval = policy.onsite_monitoring_interval_months
    oldest_ok = start - relativedelta(months=interval)
    for uid in leads:
        profile = profiles.get(uid)
        last = profile.last_onsite_monitoring_on if profile is not None else None
        if last is None:
            problems.append(Problem("lead_monitoring_missing", "37", _(
                "%(n)s has no recorded on-site monitoring; a lead assessor needs one within "
                "%(m)d months.", n=name(uid), m=interval), user_id=uid))
        elif last < oldest_ok:
            problems.append(Problem("lead_monitoring_stale", "37", _(
                "%(n)s was last monitored on site on %(d)s, more than %(m)d months before the "
                "assessment starts.", n=name(uid), d=last.isoformat(), m=interval), user_id=uid))

    # Rule 5: coverage of every sampled line, by leads and assessors only.
    roles_by_user = {uid: role for uid, role in team}
    needs_clusters = any(a.area_kind == TermKind.iaf_code.value
                         and any(str(x).startswith(CLUSTER_PREFIX) for x in (a.areas or []))
                         for a in auths)
    cluster_of: dict[str, str] = {}
    if needs_clusters:
        cluster_of = {code: t.group for code, t in refdata.terms(TermKind.iaf_code).items()
                      if t.group}
        queries += 1

    def index(roles: Iterable[TeamRole]):
        wanted = set(roles)
        whole: set[int] = set()
        codes: dict[tuple[str, str], set[int]] = defaultdict(set)
        clusters: dict[str, set[int]] = defaultdict(set)
        for a in auths:
            role = roles_by_user.get(a.user_id)
            if role not in wanted or a.role not in COVERAGE_AUTHORISATION[role]:
                continue
            if a.area_kind is None:
                whole.add(a.user_id)
                continue
            for area in a.areas or []:
                area = str(area)
                if a.area_kind == TermKind.iaf_code.value and area.startswith(CLUSTER_PREFIX):
                    clusters[area.removeprefix(CLUSTER_PREFIX)].add(a.user_id)
                else:
                    codes[(a.area_kind, area)].add(a.user_id)
        return whole, codes, clusters

    def coverers(needed: frozenset, idx) -> set[int]:
        whole, codes, clusters = idx
        if not needed:
            return set(whole)
        everyone: set[int] = set(whole)
        for pair in needed:
            who = set(whole) | codes.get(pair, set())
            if pair[0] == TermKind.iaf_code.value and pair[1] in cluster_of:
                who |= clusters.get(cluster_of[pair[1]], set())
            if not who:
                return set()
            everyone |= who
        return everyone

    competent = index(COMPETENT_ROLES)
    anyone = index(TeamRole)
    uncovered: list[int] = []
    te_only: list[int] = []
    cache: dict[frozenset, tuple[set[int], bool]] = {}
    for item_id, fields, summary in items:
        needed = item_areas(scope_type, fields)
        if needed not in cache:
            who = coverers(needed, competent)
            cache[needed] = (who, not who and bool(coverers(needed, anyone)))
        who, only_te = cache[needed]
        result.coverage[item_id] = ItemCoverage(item_id, summary, sorted(who), only_te)
        if not who:
            (te_only if only_te else uncovered).append(item_id)
    labels = {i: s for i, _f, s in items}

    def listing(ids: list[int]) -> str:
        shown = "; ".join(labels[i] or f"#{i}" for i in ids[:10])
        return shown + (_(" … and %(n)d more", n=len(ids) - 10) if len(ids) > 10 else "")

    if uncovered:
        problems.append(Problem("not_covered", "5", _(
            "No lead or assessor on the team holds a current authorisation covering %(n)d "
            "sampled line(s): %(items)s.", n=len(uncovered), items=listing(uncovered)),
            item_ids=uncovered))
    if te_only:
        problems.append(Problem("covered_by_expert_only", "5", _(
            "Technical experts and observers cannot be the only competence for a line; no lead "
            "or assessor covers %(n)d sampled line(s): %(items)s.", n=len(te_only),
            items=listing(te_only)), item_ids=te_only))

    # Rule 3: consultancy / employment links with the CAB or a related body.
    if user_ids:
        cab = db.session.execute(
            select(Cab.legal_name, Cab.trading_names, Cab.related_bodies)
            .where(Cab.id == assessment.cab_id)).one()
        # With the names of the CAB a declaration picks from the list, in the same query: a
        # link with another CAB of the tenant that this CAB lists as related counts too.
        decls = db.session.execute(
            select(InterestDeclaration, Cab.legal_name, Cab.trading_names)
            .outerjoin(Cab, Cab.id == InterestDeclaration.cab_id)
            .where(InterestDeclaration.user_id.in_(user_ids),
                   InterestDeclaration.kind.in_([InterestKind.consultancy.value,
                                                 InterestKind.employment.value]))
            .order_by(InterestDeclaration.id)
        ).all()
        queries += 2
        related = (cab.related_bodies or "").lower()
        own_names = {n.strip().lower() for n in [cab.legal_name, *(cab.trading_names or [])] if n}
        years = {InterestKind.consultancy.value: policy.consultancy_lookback_years,
                 InterestKind.employment.value: policy.employment_lookback_years}
        flagged: set[tuple[int, int]] = set()
        for d, other_name, other_trading in decls:
            org = (d.organisation or "").strip().lower()
            other_names = [n.strip().lower() for n in [other_name, *(other_trading or [])]
                           if n and n.strip()]
            if d.cab_id == assessment.cab_id or (org and org in own_names):
                whom = _("the CAB")
            elif d.cab_id is not None and any(len(n) >= 3 and n in related
                                              for n in other_names):
                whom = _("%(o)s, a body related to the CAB", o=other_name)
            elif org and len(org) >= 3 and org in related:
                whom = _("%(o)s, a body related to the CAB", o=d.organisation)
            else:
                continue
            lo = start - relativedelta(years=years[d.kind])
            if not _overlaps(d.started_on, d.ended_on, lo, end):
                continue
            if (d.user_id, d.id) in flagged:
                continue
            flagged.add((d.user_id, d.id))
            period = d.started_on.isoformat() + " – " + (
                d.ended_on.isoformat() if d.ended_on else _("ongoing"))
            problems.append(Problem("conflict_of_interest", "3", _(
                "%(n)s declared %(k)s for %(w)s (%(p)s), within the %(y)d-year look-back.",
                n=name(d.user_id), k=_("consultancy") if d.kind == InterestKind.consultancy
                else _("employment"), w=whom, p=period, y=years[d.kind]), user_id=d.user_id))

        # Double booking: on another live assessment whose dates overlap.
        clashes = db.session.execute(
            select(TeamAssignment.user_id, Assessment.id, Assessment.planned_start_on,
                   Assessment.planned_end_on)
            .join(Assessment, Assessment.id == TeamAssignment.assessment_id)
            .where(TeamAssignment.user_id.in_(user_ids), Assessment.id != assessment.id,
                   Assessment.status != S.cancelled.value,
                   Assessment.planned_start_on <= end,
                   Assessment.planned_end_on >= start)
            .order_by(Assessment.planned_start_on)
        ).all()
        queries += 1
        for uid, other_id, s, e in clashes:
            problems.append(Problem("double_booked", None, _(
                "%(n)s is already on assessment #%(a)d from %(s)s to %(e)s.", n=name(uid),
                a=other_id, s=s.isoformat(), e=e.isoformat()), user_id=uid))
    result.queries = queries
    return result


def current_team(assessment: Assessment) -> list[TeamAssignment]:
    return list(db.session.execute(
        select(TeamAssignment).where(TeamAssignment.assessment_id == assessment.id)
        .order_by(TeamAssignment.id)
    ).scalars())


def members_of(assessment: Assessment) -> list[tuple[int, TeamRole]]:
    return [(t.user_id, TeamRole(t.role)) for t in current_team(assessment)]


def check_current_team(assessment: Assessment) -> TeamCheckResult:
    return check_team(assessment, members_of(assessment))


def _refuse(result: TeamCheckResult, only_user: int | None = None) -> None:
    problems = result.problems if only_user is None else result.for_user(only_user)
    if problems:
        rules = sorted({p.rule for p in problems if p.rule}, key=int)
        prefix = (_("Refused (rule %(r)s): ", r=", ".join(rules)) if rules else _("Refused: "))
        raise Conflict(prefix + " ".join(p.message for p in problems), code="team_refused")


# -- state helpers ------------------------------------------------------------------------------


def move(assessment: Assessment, new: AssessmentStatus, **extra) -> None:
    before = assessment.status
    assessment.set_status(new)
    db.session.flush()
    audit.record(f"assessment.{new.value}", assessment,
                 changes={"status": [before, new.value], **extra})


def window_open(assessment: Assessment, today: date | None = None) -> bool:
    """The CAB may still object (rule 4)."""
    today = today or date.today()
    return (assessment.team_notified_at is not None and not assessment.objection_window_waived
            and assessment.objection_window_ends_on is not None
            and today <= assessment.objection_window_ends_on)


def window_closed(assessment: Assessment, today: date | None = None) -> bool:
    """The team was notified and the window has run out or was waived (rule 4)."""
    today = today or date.today()
    if assessment.team_notified_at is None:
        return False
    return assessment.objection_window_waived or (
        assessment.objection_window_ends_on is not None
        and today > assessment.objection_window_ends_on)


def open_objections(assessment: Assessment) -> list[TeamObjection]:
    return list(db.session.execute(
        select(TeamObjection).where(TeamObjection.assessment_id == assessment.id,
                                    TeamObjection.status == ObjectionStatus.open.value)
    ).scalars())


# -- team editing -------------------------------------------------------------------------------


def _ensure_team_editable(assessment: Assessment) -> None:
    if assessment.status_enum not in TEAM_EDITABLE:
        raise Conflict(_("The team can be changed only while the assessment is a draft; this one "
                         "is %(s)s.", s=assessment.status.replace("_", " ")))


def add_member(assessment: Assessment, user_id: int, role: TeamRole | str) -> TeamAssignment:
    """Put a person on a draft team. Refuses, naming the reason, when the person fails a
    personal check (authorisation, rule 3 conflict, double booking, rule 37 for a lead)."""
    _ensure_team_editable(assessment)
    role = TeamRole(role)
    team = members_of(assessment)
    if any(uid == user_id for uid, _r in team):
        raise Conflict(_("This person is already on the team."))
    if role == TeamRole.lead and any(r == TeamRole.lead for _u, r in team):
        raise Conflict(_("The team already has a lead assessor; remove them first."))
    _refuse(check_team(assessment, [*team, (user_id, role)]), only_user=user_id)
    row = TeamAssignment(cab_id=assessment.cab_id, assessment_id=assessment.id,
                         user_id=user_id, role=role.value)
    db.session.add(row)
    db.session.flush()
    audit.record("assessment.member_added", assessment,
                 changes={"member": [None, {"user_id": user_id, "role": role.value}]})
    return row


def remove_member(assessment: Assessment, user_id: int) -> None:
    """Take a person off a draft team."""
    _ensure_team_editable(assessment)
    _remove(assessment, user_id, "assessment.member_removed")


def _remove(assessment: Assessment, user_id: int, action: str) -> None:
    row = db.session.execute(
        select(TeamAssignment).where(TeamAssignment.assessment_id == assessment.id,
                                     TeamAssignment.user_id == user_id)
    ).scalar_one_or_none()
    if row is None:
        raise ValidationFailed(_("This person is not on the team."), field="user_id")
    before = {"user_id": row.user_id, "role": row.role}
    db.session.delete(row)
    db.session.flush()
    audit.record(action, assessment, changes={"member": [before, None]})


def _replace_team(assessment: Assessment, members: Sequence[tuple[int, TeamRole | str]]) -> None:
    db.session.execute(delete(TeamAssignment).where(
        TeamAssignment.assessment_id == assessment.id))
    db.session.add_all([TeamAssignment(cab_id=assessment.cab_id, assessment_id=assessment.id,
                                       user_id=int(uid), role=TeamRole(role).value)
                        for uid, role in members])
    db.session.flush()


# -- propose, notify, confirm (rule 4) ----------------------------------------------------------


def propose_team(assessment: Assessment,
                 members: Sequence[tuple[int, TeamRole | str]] | None = None,
                 *, today: date | None = None) -> TeamCheckResult:
    """draft → team proposed: every check must pass (the refusal lists every problem); the CAB's
    users get the names and organisations and the objection deadline (rule 4)."""
    if assessment.status_enum != S.draft:
        raise Conflict(_("Only a draft assessment's team can be proposed."))
    team = list(members) if members is not None else members_of(assessment)
    result = check_team(assessment, team)
    _refuse(result)
    if members is not None:
        _replace_team(assessment, team)
    today = today or date.today()
    ends = today + timedelta(days=TenantPolicy.current().objection_window_days)
    assessment.team_notified_at = utcnow()
    assessment.objection_window_ends_on = ends
    assessment.objection_window_waived = False
    move(assessment, S.team_proposed, objection_window_ends_on=[None, ends.isoformat()],
         team=[None, [{"user_id": u, "role": TeamRole(r).value} for u, r in team]])
    _notify_cab_of_team(assessment)
    return result


def team_listing(assessment: Assessment) -> list[dict]:
    """Names, roles and organisations of the team: what the CAB is told (never more)."""
    rows = db.session.execute(
        select(TeamAssignment.user_id, TeamAssignment.role, User.name,
               AssessorProfile.organisation)
        .join(User, User.id == TeamAssignment.user_id)
        .outerjoin(AssessorProfile, AssessorProfile.user_id == TeamAssignment.user_id)
        .where(TeamAssignment.assessment_id == assessment.id)
        .order_by(TeamAssignment.id)
    ).all()
    order = {r: i for i, r in enumerate(TeamRole)}
    out = [{"user_id": uid, "role": role, "name": nm, "organisation": org}
           for uid, role, nm, org in rows]
    return sorted(out, key=lambda m: (order[TeamRole(m["role"])], m["name"]))


def _notify_cab_of_team(assessment: Assessment) -> None:
    emails = cab_services.cab_user_emails(assessment.cab_id)
    if not emails:
        return
    cab_name = db.session.execute(
        select(Cab.legal_name).where(Cab.id == assessment.cab_id)).scalar_one()
    link = external_url("tenant.cab_assessments.show", assessment_id=assessment.id)
    team = team_listing(assessment)
    subject = _("Proposed assessment team: %(cab)s, %(s)s", cab=cab_name,
                s=assessment.planned_start_on.isoformat())
    for email in emails:
        send_mail(email, subject, "team_proposed", assessment=assessment, team=team,
                  cab_name=cab_name, link=link, deadline=assessment.objection_window_ends_on)


def waive_objection_window(assessment: Assessment, reason: str) -> None:
    """Close the CAB's objection window early (e.g. the CAB accepted the team in writing);
    a reason is required and audited."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for waiving the objection window."),
                               field="reason")
    if assessment.status_enum != S.team_proposed:
        raise Conflict(_("The objection window can be waived only while the team is proposed."))
    assessment.objection_window_waived = True
    db.session.flush()
    audit.record("assessment.objection_window_waived", assessment,
                 changes={"objection_window_waived": [False, True], "reason": [None, reason]})


def confirm_team(assessment: Assessment, *, today: date | None = None) -> None:
    """team proposed → team confirmed: only once the objection window has closed or was
    waived, with no objection open (rule 4), and while the team still passes every check."""
    if assessment.status_enum != S.team_proposed:
        raise Conflict(_("Only a proposed team can be confirmed."))
    if not window_closed(assessment, today):
        raise Conflict(_("Refused (rule 4): the CAB may object until %(d)s; wait until then or "
                         "record a waiver.", d=assessment.objection_window_ends_on.isoformat()
                         if assessment.objection_window_ends_on else "-"), code="window_open")
    if open_objections(assessment):
        raise Conflict(_("Refused (rule 4): resolve the CAB's open objections first."),
                       code="objection_open")
    _refuse(check_current_team(assessment))
    move(assessment, S.team_confirmed)


def reopen_team(assessment: Assessment, reason: str) -> None:
    """Take a proposed, confirmed or approved team back to draft to change it (a member became
    unavailable, the dates moved); a reason is required. The changed team must be proposed to
    the CAB again, with a new objection window (rule 4)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for changing the team."), field="reason")
    if assessment.status_enum not in OBJECTABLE:
        raise Conflict(_("Only a proposed, confirmed or approved team can be reopened; this "
                         "assessment is %(s)s.", s=assessment.status.replace("_", " ")))
    _back_to_draft(assessment, reason=[None, reason])


def _back_to_draft(assessment: Assessment, **extra) -> None:
    if assessment.status_enum in {S.team_confirmed, S.plan_approved}:
        move(assessment, S.team_proposed, **extra)
        extra = {}
    if assessment.status_enum == S.team_proposed:
        move(assessment, S.draft, **extra)


# -- objections ---------------------------------------------------------------------------------


def raise_objection(assessment: Assessment, user_id: int, reason: str, *,
                    today: date | None = None) -> TeamObjection:
    """The CAB objects to a proposed member, with a reason, while the window is open (rule 4)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for the objection."), field="reason")
    if assessment.status_enum not in OBJECTABLE:
        raise Conflict(_("This assessment is %(s)s; objections can no longer be raised here. "
                         "Contact the accreditation body.",
                         s=assessment.status.replace("_", " ")), code="not_objectable")
    if not window_open(assessment, today):
        raise Conflict(_("The objection window has closed; contact the accreditation body."),
                       code="window_closed")
    if not any(uid == user_id for uid, _r in members_of(assessment)):
        raise ValidationFailed(_("This person is not on the proposed team."), field="user_id")
    objection = _add_objection(assessment, user_id, reason, "assessment.objection_raised")
    _notify_manager_of_objection(assessment, objection)
    return objection


def record_objection(assessment: Assessment, user_id: int, reason: str) -> TeamObjection:
    """Staff record an objection the CAB made outside the portal (a letter, a call), at any time
    before the assessment starts — also after the window: it then blocks the start until it is
    resolved (rule 4)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the CAB's reason for the objection."), field="reason")
    if assessment.status_enum not in OBJECTABLE:
        raise Conflict(_("Objections are recorded once the team is proposed and until the "
                         "assessment starts."))
    if not any(uid == user_id for uid, _r in members_of(assessment)):
        raise ValidationFailed(_("This person is not on the team."), field="user_id")
    return _add_objection(assessment, user_id, reason, "assessment.objection_recorded")


def _add_objection(assessment: Assessment, user_id: int, reason: str,
                   action: str) -> TeamObjection:
    """One open objection per person, by the acting user (the CAB, or staff recording it)."""
    if _open_objection_to(assessment, user_id):
        raise Conflict(_("There is already an open objection to this person."))
    actor = acting_user()
    objection = TeamObjection(cab_id=assessment.cab_id, assessment_id=assessment.id,
                              user_id=user_id, reason=reason,
                              raised_by_id=actor.id if actor else None)
    db.session.add(objection)
    db.session.flush()
    audit.record(action, objection,
                 changes={"assessment_id": [None, assessment.id], "user_id": [None, user_id],
                          "reason": [None, reason]})
    return objection


def _open_objection_to(assessment: Assessment, user_id: int) -> bool:
    return db.session.execute(
        select(TeamObjection.id).where(TeamObjection.assessment_id == assessment.id,
                                       TeamObjection.user_id == user_id,
                                       TeamObjection.status == ObjectionStatus.open.value)
    ).first() is not None


def _managers_to_tell(assessment: Assessment) -> list[str]:
    """The CAB's case manager; without one, the tenant's active accreditation managers."""
    manager = cab_services.case_manager_email(assessment.cab_id)
    if manager:
        return [manager]
    return sorted(set(db.session.execute(
        select(User.email).join(Membership, Membership.user_id == User.id)
        .join(MembershipRole, MembershipRole.membership_id == Membership.id)
        .where(Membership.is_active, MembershipRole.role == Role.manager.value)
    ).scalars()))


def _notify_manager_of_objection(assessment: Assessment, objection: TeamObjection) -> None:
    recipients = _managers_to_tell(assessment)
    if not recipients:
        return
    names = dict(db.session.execute(
        select(User.id, User.name).where(User.id.in_(
            [objection.user_id] + ([objection.raised_by_id] if objection.raised_by_id else []))
        )).all())
    cab_name = db.session.execute(
        select(Cab.legal_name).where(Cab.id == assessment.cab_id)).scalar_one()
    link = external_url("tenant.assessments.show", assessment_id=assessment.id, tab="team")
    subject = _("%(cab)s objects to a proposed team member (assessment #%(id)d)",
                cab=cab_name, id=assessment.id)
    for email in recipients:
        send_mail(email, subject, "objection_raised", assessment=assessment, cab_name=cab_name,
                  member=names.get(objection.user_id, f"#{objection.user_id}"),
                  raised_by=names.get(objection.raised_by_id) if objection.raised_by_id else None,
                  reason=objection.reason, link=link)


def _notify_cab_of_resolution(assessment: Assessment, objection: TeamObjection) -> None:
    emails = cab_services.cab_user_emails(assessment.cab_id)
    if not emails:
        return
    member = db.session.execute(
        select(User.name).where(User.id == objection.user_id)).scalar_one()
    link = external_url("tenant.cab_assessments.show", assessment_id=assessment.id)
    upheld = objection.status == ObjectionStatus.upheld
    subject = (_("Your objection to %(m)s was upheld", m=member) if upheld
               else _("Your objection to %(m)s was not upheld", m=member))
    for email in emails:
        send_mail(email, subject, "objection_resolved", assessment=assessment, member=member,
                  upheld=upheld, resolution=objection.resolution, link=link)


def resolve_objection(objection: TeamObjection, upheld: bool, resolution: str) -> None:
    """The manager decides an objection, with a resolution the CAB is told. Upheld: the member
    leaves the team and the assessment goes back to draft, so a replacement is proposed to the
    CAB with a new objection window. The person objected to cannot decide it."""
    user = acting_user()
    if user is not None and objection.user_id == user.id:
        raise PermissionDenied(_("You cannot decide an objection to yourself."))
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationFailed(_("Give the resolution."), field="resolution")
    if objection.status != ObjectionStatus.open:
        raise Conflict(_("This objection has already been resolved."))
    assessment = db.session.execute(
        select(Assessment).where(Assessment.id == objection.assessment_id)).scalar_one()
    if upheld and assessment.status_enum in {S.in_progress, S.report_issued, S.closed,
                                             S.cancelled}:
        raise Conflict(_("The assessment is %(s)s; the team can no longer change.",
                         s=assessment.status.replace("_", " ")))
    objection.status = (ObjectionStatus.upheld if upheld else ObjectionStatus.dismissed).value
    objection.resolution = resolution
    objection.resolved_at = utcnow()
    objection.resolved_by_id = user.id if user else None
    db.session.flush()
    audit.record("assessment.objection_resolved", objection,
                 changes={"status": ["open", objection.status],
                          "resolution": [None, resolution]})
    if upheld:
        _remove(assessment, objection.user_id, "assessment.member_removed_on_objection")
        _back_to_draft(assessment, objection_id=[None, objection.id])
    _notify_cab_of_resolution(assessment, objection)


def objection_rows(assessment: Assessment) -> list[dict]:
    """The assessment's objections, open ones first, with the names of the member objected to,
    of who raised or recorded it and of who decided it."""
    rows = db.session.execute(
        select(TeamObjection).where(TeamObjection.assessment_id == assessment.id)
        .order_by(TeamObjection.id)).scalars().all()
    ids = {r.user_id for r in rows} | {r.raised_by_id for r in rows if r.raised_by_id} | {
        r.resolved_by_id for r in rows if r.resolved_by_id}
    names = dict(db.session.execute(
        select(User.id, User.name).where(User.id.in_(ids))).all()) if ids else {}
    out = [{"objection": r, "member": names.get(r.user_id, f"#{r.user_id}"),
            "raised_by": names.get(r.raised_by_id) if r.raised_by_id else None,
            "resolved_by": names.get(r.resolved_by_id) if r.resolved_by_id else None}
           for r in rows]
    return sorted(out, key=lambda o: (o["objection"].status != ObjectionStatus.open,
                                      o["objection"].id))


@dataclass
class Candidate:
    """Someone who holds a current authorisation for the programme, screened against the
    assessment: what they may be appointed as, how much of the sample they cover, and what
    would refuse them."""

    user_id: int
    name: str
    organisation: str | None
    auth_roles: list[str]
    areas: list[str]
    team_roles: list[str]  # team roles their authorisations allow
    covers: int
    last_monitoring: date | None
    lead_monitoring_ok: bool
    problems: list[Problem]


def candidates(assessment: Assessment) -> list[Candidate]:
    """Everyone not yet on the team with a current authorisation for the accreditation's
    programme, screened with :func:`check_team` (conflicts, double booking, coverage) in one
    pass: a fixed number of queries whatever the number of people or lines."""
    programme_id = db.session.execute(
        select(Accreditation.programme_id).where(Accreditation.id == assessment.accreditation_id)
    ).scalar_one()
    start, end = assessment.planned_start_on, assessment.planned_end_on
    auths = [a for a in db.session.execute(
        select(AssessorAuthorisation).where(
            AssessorAuthorisation.programme_id == programme_id,
            AssessorAuthorisation.status == AuthorisationStatus.approved.value)
    ).scalars() if _is_current(a, start, end)]
    on_team = {uid for uid, _r in members_of(assessment)}
    by_user: dict[int, list[AssessorAuthorisation]] = defaultdict(list)
    for a in auths:
        if a.user_id not in on_team:
            by_user[a.user_id].append(a)
    if not by_user:
        return []
    user_ids = sorted(by_user)
    # As assessors (coverage counts leads and assessors); TE/observer-only people cover nothing.
    result = check_team(assessment, [(uid, TeamRole.assessor) for uid in user_ids])
    covers: dict[int, int] = defaultdict(int)
    for cov in result.coverage.values():
        for uid in cov.covered_by:
            covers[uid] += 1
    people = {uid: (nm, org, last) for uid, nm, org, last in db.session.execute(
        select(User.id, User.name, AssessorProfile.organisation,
               AssessorProfile.last_onsite_monitoring_on)
        .outerjoin(AssessorProfile, AssessorProfile.user_id == User.id)
        .where(User.id.in_(user_ids))).all()}
    interval = TenantPolicy.current().onsite_monitoring_interval_months
    personal = {"conflict_of_interest", "double_booked"}
    out = []
    for uid in user_ids:
        held = {a.role for a in by_user[uid]}
        roles = [r.value for r in TeamRole
                 if held & {x.value for x in TEAM_ROLE_AUTHORISATION[r]}]
        name, org, last = people.get(uid, (f"#{uid}", None, None))
        areas = sorted({str(x) for a in by_user[uid] if a.area_kind for x in a.areas or []})
        if any(a.area_kind is None for a in by_user[uid]):
            areas.insert(0, _("whole programme"))
        out.append(Candidate(
            user_id=uid, name=name, organisation=org,
            auth_roles=sorted(held), areas=areas, team_roles=roles, covers=covers[uid],
            last_monitoring=last,
            lead_monitoring_ok=not monitoring_overdue(last, interval, start),
            problems=[p for p in result.for_user(uid) if p.code in personal]))
    return sorted(out, key=lambda c: (bool(c.problems), -c.covers, c.name.lower()))


__all__ = ["AuthorisationRole", "check_team", "propose_team", "confirm_team", "raise_objection",
           "record_objection", "reopen_team", "resolve_objection", "waive_objection_window",
           "add_member", "remove_member", "candidates"]
