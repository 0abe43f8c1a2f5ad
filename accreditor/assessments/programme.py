"""The accreditation cycle programme (ISO/IEC 17011 7.9): proposing it from the tenant's policy,
checking it against rules 7–11, and what it covers of the scope over the cycle.

* :func:`propose_programme` creates the draft visits the policy asks for (initial assessment and
  document review for an applicant, surveillances at the first-surveillance offset and then at
  the interval, a reassessment completed before the cycle ends), never more than the on-site
  maximum apart (rule 9), and never twice: a visit already planned in a slot is kept.
* :func:`check_programme` lists every rule the programme breaks, each naming its rule and the
  assessment(s) concerned; :func:`blocking_problems` gives those that refuse a plan approval.
* :func:`coverage` says which scope lines, locations and (for MS CBs) IAF clusters and critical
  codes each assessment of the cycle samples, and what the cycle leaves uncovered.

Dates: the model records planned dates only, so past assessments are placed on their planned
dates. An on-site interval runs from the last day of one on-site assessment to the first day of
the next. Cancelled assessments never count, and neither does one whose dates have passed
without it being held (still a draft … plan approved): it is reported, to be recorded or
cancelled.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from sqlalchemy import select

from accreditor.assessments import services
from accreditor.assessments.models import (
    ONSITE_TYPES,
    Assessment,
    AssessmentItem,
    AssessmentMode,
    AssessmentStatus,
    AssessmentType,
)
from accreditor.cabs.models import CabLocation
from accreditor.core import audit
from accreditor.core.errors import Conflict
from accreditor.core.jobs import job
from accreditor.extensions import db
from accreditor.refdata import services as refdata
from accreditor.refdata.models import Programme, ScopeType, TermKind
from accreditor.scopes.models import Accreditation, AccreditationStatus, ScopeItem
from accreditor.tenants.models import TenantPolicy

S = AssessmentStatus
T = AssessmentType
MAX_CYCLE = relativedelta(years=5)  # rule 7 (17011 7.9.1)

# Planning assumptions where the policy is silent (the manager adjusts the dates):
DOC_REVIEW_AFTER = timedelta(days=30)  # document review a month after acceptance (17011 7.5)
INITIAL_AFTER_MONTHS = 3  # first visit about 3 months after the application (INAB)
DECISION_AFTER_MONTHS = 3  # assessment to grant decision: UKAS "3–6 months"
REASSESSMENT_LEAD_MONTHS = 6  # reassessment completed 6 months before the cycle ends (A2LA)
VISIT_DAYS = {T.document_review: 1, T.initial: 2, T.surveillance: 1, T.reassessment: 2}
PROPOSAL_NOTE = "Proposed by the programme planner from the tenant's policy; adjust the dates, " \
    "locations and sample to the risks (rule 40)."
DESK_REVIEW = ("Desk review of the CAB's documented information (ISO/IEC 17011 7.5); no visit "
               "is needed.",
               "Documents are exchanged through the accreditation body's system; no live ICT "
               "session with the CAB. Revise this note if interviews by video are added.")

NOT_STARTED = frozenset({S.draft, S.team_proposed, S.team_confirmed, S.plan_approved})
HELD = frozenset({S.in_progress, S.report_issued, S.closed})
COMPLETED = frozenset({S.report_issued, S.closed})  # rule 10: "an on-site assessment completed"
SUSPENDED = frozenset({AccreditationStatus.suspended, AccreditationStatus.partially_suspended})


def fmt(d: date) -> str:
    return format_date(d, "d MMM y")


def months_between(a: date, b: date) -> tuple[int, int]:
    """Whole months from ``a`` to ``b`` and the days left over."""
    delta = relativedelta(b, a)
    months = delta.years * 12 + delta.months
    # Month ends: 31 Mar + 1 month is 30 Apr, so 31 Mar → 30 Apr is a whole month.
    while a + relativedelta(months=months + 1) <= b:
        months += 1
    while months > 0 and a + relativedelta(months=months) > b:
        months -= 1
    return months, (b - (a + relativedelta(months=months))).days


def _span(a: date, b: date) -> str:
    months, days = months_between(a, b)
    text = ngettext("%(num)d month", "%(num)d months", months)
    if days:
        text = _("%(m)s and %(d)s", m=text, d=ngettext("%(num)d day", "%(num)d days", days))
    return text


def assessments_of(accreditation_ids) -> list[Assessment]:
    """The assessments of the accreditations ``accreditation_ids`` (a list of ids, or a SELECT
    of ids for a list page), cancelled ones included, in date order: one query."""
    if isinstance(accreditation_ids, list | tuple | set) and not accreditation_ids:
        return []
    return list(db.session.execute(
        select(Assessment).where(Assessment.accreditation_id.in_(accreditation_ids))
        .order_by(Assessment.planned_start_on, Assessment.planned_end_on, Assessment.id)
    ).scalars())


def _live(assessments) -> list[Assessment]:
    return sorted((a for a in assessments if a.status != S.cancelled),
                  key=lambda a: (a.planned_start_on, a.planned_end_on, a.id))


def not_held(a: Assessment, today: date) -> bool:
    """Its dates have passed and it never started: it did not happen as planned."""
    return a.status in NOT_STARTED and a.planned_end_on < today


def resets_onsite_clock(a: Assessment, today: date) -> bool:
    """Rule 9: an on-site assessment (or one marked on-site not applicable) that was held, or
    one still to come; a past one that never started counts for nothing."""
    return a.counts_as_onsite and a.status != S.cancelled and not not_held(a, today)


def is_first_cycle(acc: Accreditation) -> bool:
    return acc.initial_grant_on is None or acc.initial_grant_on == acc.cycle_start_on


def in_cycle(acc: Accreditation, a: Assessment) -> bool:
    """Whether an assessment belongs to the current cycle: planned inside it, or (first cycle,
    or an applicant) before it — the initial assessments that led to the grant."""
    if acc.cycle_start_on is None or acc.cycle_end_on is None:
        return True
    if a.planned_start_on > acc.cycle_end_on:
        return False
    return a.planned_start_on >= acc.cycle_start_on or is_first_cycle(acc)


# -- problems -----------------------------------------------------------------------------------


@dataclass
class Problem:
    rule: str  # "7", "8", "9", "10", "11" or "policy"
    code: str
    message: str  # starts with the rule's name: "Rule 9: …"
    blocking: bool  # blocking: the plan of ``subject_id`` cannot be approved
    assessment_ids: list[int] = field(default_factory=list)  # every assessment concerned
    subject_id: int | None = None  # the assessment that must move to put it right

    @property
    def label(self) -> str:
        return _("Programme policy") if self.rule == "policy" else _("Rule %(r)s", r=self.rule)


def evaluate(acc: Accreditation, assessments, policy: TenantPolicy, today: date) -> list[Problem]:
    """The rules on loaded data (no queries), so a list page checks many programmes at once."""
    out: list[Problem] = []
    live = _live(assessments)
    max_months = policy.onsite_interval_max_months
    max_gap = relativedelta(months=max_months)
    start, end = acc.cycle_start_on, acc.cycle_end_on

    # Rule 7: a cycle is at most five years.
    if start and end and end > start + MAX_CYCLE:
        out.append(Problem("7", "cycle_too_long", _(
            "Rule 7: the cycle %(a)s → %(b)s is longer than five years.", a=fmt(start),
            b=fmt(end)), blocking=True))

    # Rule 9: consecutive on-site assessments at most the maximum apart. Past visits count only
    # if they were held; future ones as planned.
    onsite = [a for a in live if resets_onsite_clock(a, today)]
    for a in live:
        if a.counts_as_onsite and not_held(a, today):
            out.append(Problem("9", "onsite_not_held", _(
                "Rule 9: the on-site assessment planned for %(a)s → %(b)s was not held (it is "
                "%(s)s), so it does not count as an on-site visit; record it or cancel it.",
                a=fmt(a.planned_start_on), b=fmt(a.planned_end_on),
                s=a.status.replace("_", " ")), blocking=False, assessment_ids=[a.id],
                subject_id=a.id))
    for prev, nxt in zip(onsite, onsite[1:], strict=False):
        due = prev.planned_end_on + max_gap
        if nxt.planned_start_on <= due:
            continue
        between = [a for a in live if a.type in ONSITE_TYPES and not a.counts_as_onsite
                   and prev.planned_end_on < a.planned_start_on < nxt.planned_start_on]
        message = _("Rule 9: %(span)s between on-site assessments (%(a)s → %(b)s); at most %(m)d "
                    "months.", span=_span(prev.planned_end_on, nxt.planned_start_on),
                    a=fmt(prev.planned_end_on), b=fmt(nxt.planned_start_on), m=max_months)
        if between:
            message += " " + _("The remote assessment of %(d)s does not reset the on-site clock: "
                               "it is not marked “on-site not applicable” with a reason.",
                               d=fmt(between[0].planned_start_on))
        fixable = nxt.status in NOT_STARTED and due >= today
        if nxt.status in NOT_STARTED and not fixable:
            message += " " + _("It was due by %(d)s; hold it as soon as possible.", d=fmt(due))
        out.append(Problem("9", "onsite_interval", message, blocking=fixable,
                           assessment_ids=[prev.id, nxt.id], subject_id=nxt.id))
    if onsite and end and onsite[-1].planned_start_on <= end \
            and onsite[-1].type != T.reassessment:  # after it, the next cycle's visits follow
        due = onsite[-1].planned_end_on + max_gap
        if due < end:
            overdue = due < today
            out.append(Problem("9", "onsite_missing", _(
                "Rule 9: no on-site assessment is planned after %(a)s; the next is due by %(d)s.",
                a=fmt(onsite[-1].planned_end_on), d=fmt(due)) + (
                " " + _("It is overdue.") if overdue else ""), blocking=False))

    if start and end:
        cycle = [a for a in live if a.planned_start_on >= start]
        # Rule 11: the reassessment is completed before the cycle ends.
        reassessments = [a for a in cycle if a.type == T.reassessment]
        for r in reassessments:
            if r.planned_end_on >= end:
                fixable = r.status in NOT_STARTED and end > today
                message = _("Rule 11: the reassessment ends %(d)s, not before the cycle ends on "
                            "%(e)s; it must be completed before then.", d=fmt(r.planned_end_on),
                            e=fmt(end))
                if end <= today:
                    message += " " + _("The cycle has ended: the accreditation needs a decision.")
                out.append(Problem("11", "reassessment_late", message, blocking=fixable,
                                   assessment_ids=[r.id], subject_id=r.id))
        if not reassessments:
            out.append(Problem("11", "reassessment_missing", _(
                "Rule 11: no reassessment is planned; it must be completed before the cycle ends "
                "on %(e)s.", e=fmt(end)), blocking=False))
        # Rule 8: nothing extends the cycle, a suspension included.
        for a in cycle:
            if a.type == T.reassessment or a.planned_start_on <= end:
                continue
            if a.status not in NOT_STARTED:
                continue
            if acc.status_enum in SUSPENDED:
                message = _("Rule 8: planned for %(d)s, after the cycle ends on %(e)s. The cycle "
                            "end never moves, not even for a suspension; plan it within the "
                            "cycle, or after the reassessment decision starts the next.",
                            d=fmt(a.planned_start_on), e=fmt(end))
            else:
                message = _("Rule 8: planned for %(d)s, after the cycle ends on %(e)s. The cycle "
                            "end never moves; plan it within the cycle, or after the "
                            "reassessment decision starts the next.",
                            d=fmt(a.planned_start_on), e=fmt(end))
            out.append(Problem("8", "after_cycle_end", message, blocking=end > today,
                               assessment_ids=[a.id], subject_id=a.id))
        # Policy: the first surveillance no later than the offset after the grant (or, in later
        # cycles, the interval after the reassessment decision).
        first = is_first_cycle(acc)
        months = policy.first_surveillance_months if first else \
            policy.surveillance_interval_months
        due = start + relativedelta(months=months)
        surveillances = [a for a in cycle if a.type == T.surveillance]
        what = _("grant") if first else _("start of the cycle")
        if surveillances and surveillances[0].planned_start_on > due:
            s = surveillances[0]
            fixable = s.status in NOT_STARTED and due >= today
            out.append(Problem("policy", "first_surveillance_late", _(
                "Programme policy: the first surveillance is due within %(m)d months of the "
                "%(what)s (by %(d)s); it is planned for %(p)s.", m=months, what=what, d=fmt(due),
                p=fmt(s.planned_start_on)), blocking=fixable, assessment_ids=[s.id],
                subject_id=s.id))
        elif not surveillances and due < end and due < today:
            out.append(Problem("policy", "first_surveillance_missing", _(
                "Programme policy: the first surveillance was due within %(m)d months of the "
                "%(what)s (by %(d)s); none is planned.", m=months, what=what, d=fmt(due)),
                blocking=False))

    # Rule 10: a suspension is lifted only after a recent on-site assessment has been completed
    # (its report issued), not merely started.
    if acc.status_enum in SUSPENDED:
        done = [a for a in onsite if a.status in COMPLETED]
        last = max((a.planned_end_on for a in done), default=None)
        if last is None or last + max_gap < today:
            out.append(Problem("10", "reinstatement_needs_onsite", _(
                "Rule 10: the last on-site assessment %(l)s; the suspension can be lifted only "
                "after an on-site assessment is completed and its findings cleared.",
                l=_("ended %(d)s, more than %(m)d months ago", d=fmt(last), m=max_months)
                if last else _("is not on record")), blocking=False))
    return out


def check_programme(accreditation: Accreditation, *, today: date | None = None) -> list[Problem]:
    """Every rule the accreditation's programme breaks (rules 7–11 and the first-surveillance
    policy), blocking first."""
    problems = evaluate(accreditation, assessments_of([accreditation.id]), TenantPolicy.current(),
                        today or date.today())
    return sorted(problems, key=lambda p: not p.blocking)


def blocking_problems(assessment: Assessment, *, today: date | None = None) -> list[Problem]:
    """The blocking problems that concern this assessment (its plan cannot be approved while
    any remains), and those of the whole programme (a cycle over five years)."""
    acc = db.session.execute(
        select(Accreditation).where(Accreditation.id == assessment.accreditation_id)
    ).scalar_one()
    return [p for p in check_programme(acc, today=today)
            if p.blocking and p.subject_id in (assessment.id, None)]


# -- proposing the programme ---------------------------------------------------------------------


def fit_back(start: date, days: int) -> tuple[date, date]:
    """Move a visit earlier (never later: the dates are deadlines) so it falls Monday–Friday."""
    over = start.weekday() + days - 5
    if over > 0:
        start -= timedelta(days=over)
    return start, start + timedelta(days=days - 1)


def fit_forward(start: date, days: int) -> tuple[date, date]:
    if start.weekday() + days > 5:
        start += timedelta(days=7 - start.weekday())
    return start, start + timedelta(days=days - 1)


@dataclass
class Slot:
    type: AssessmentType
    start: date
    end: date
    existing: Assessment | None = None  # a visit already planned that fills the slot

    @property
    def is_new(self) -> bool:
        return self.existing is None


def _cycle_months(start: date, end: date) -> int:
    months, days = months_between(start, end)
    return months + (1 if days > 15 else 0)


def plan_slots(acc: Accreditation, assessments, policy: TenantPolicy,
               start_on: date) -> list[Slot]:
    """The visits the policy asks for in the current (or, for an applicant, projected) cycle,
    each matched to an assessment already planned when there is one. ``start_on`` is the day
    the proposal runs from (today): a visit that ended before it without being held does not
    count as on-site (rule 9). Pure: no queries."""
    live = _live(assessments)
    used: set[int] = set()
    slots: list[Slot] = []

    def match(type_: AssessmentType, target: date, tolerance: timedelta | None) -> Assessment | None:
        for a in live:
            if a.id in used or a.type != type_:
                continue
            if tolerance is None or abs(a.planned_start_on - target) <= tolerance:
                used.add(a.id)
                return a
        return None

    applicant = acc.cycle_start_on is None or acc.cycle_end_on is None
    if applicant:
        if acc.status_enum != AccreditationStatus.applicant:
            raise Conflict(_("This accreditation has no current cycle; record the cycle dates "
                             "first."), code="no_cycle")
        initial = match(T.initial, start_on, None)
        if initial is None:
            i_start, i_end = fit_back(start_on + relativedelta(months=INITIAL_AFTER_MONTHS),
                                      VISIT_DAYS[T.initial])
        else:
            i_start, i_end = initial.planned_start_on, initial.planned_end_on
        review = match(T.document_review, start_on, None)
        if review is None:
            d_start = min(start_on + DOC_REVIEW_AFTER, i_start - timedelta(days=14))
            if d_start >= start_on:
                slots.append(Slot(T.document_review, *fit_forward(d_start, 1)))
        else:
            slots.append(Slot(T.document_review, review.planned_start_on, review.planned_end_on,
                              review))
        slots.append(Slot(T.initial, i_start, i_end, initial))
        cycle_start = i_end + relativedelta(months=DECISION_AFTER_MONTHS)
        cycle_months = min(policy.cycle_length_months, 60)
        first_cycle = True
        after = i_end  # visits after the initial assessment belong to the projected cycle
    else:
        cycle_start = acc.cycle_start_on
        cycle_months = _cycle_months(acc.cycle_start_on, acc.cycle_end_on)
        first_cycle = is_first_cycle(acc)
        after = cycle_start
        if acc.cycle_end_on <= start_on:
            raise Conflict(_("The cycle ended on %(d)s; the next cycle starts with the "
                             "reassessment decision, so no programme can be proposed for it.",
                             d=fmt(acc.cycle_end_on)), code="cycle_ended")
    cycle_end = cycle_start + relativedelta(months=cycle_months)
    if not applicant:
        cycle_end = min(cycle_end, acc.cycle_end_on)

    # Surveillance cadence; one that would fall within half an interval of the reassessment is
    # left out (the reassessment takes its place).
    interval = policy.surveillance_interval_months
    r_month = max(1, cycle_months - REASSESSMENT_LEAD_MONTHS)
    months = []
    m = policy.first_surveillance_months if first_cycle else interval
    while m <= r_month - interval / 2:
        months.append(m)
        m += interval
    half = timedelta(days=round(interval * 365.25 / 24))
    targets = [(T.surveillance, cycle_start + relativedelta(months=m), half) for m in months]
    r_end = min(cycle_start + relativedelta(months=r_month), cycle_end - timedelta(days=1))
    r_start = r_end - timedelta(days=VISIT_DAYS[T.reassessment] - 1)
    targets.append((T.reassessment, r_start, None))

    # Walk the cycle in order, keeping on-site visits at most the maximum apart (rule 9): a
    # surveillance moves earlier; before the reassessment extra surveillances are added. A
    # visit dated before ``start_on`` that never started does not reset the clock.
    max_gap = relativedelta(months=policy.onsite_interval_max_months)
    onsite_ends = [a.planned_end_on for a in live if resets_onsite_clock(a, start_on)]
    onsite_ends += [s.end for s in slots if s.type == T.initial and s.is_new]

    def last_onsite_before(d: date) -> date | None:
        ends = [e for e in onsite_ends if e < d]
        return max(ends) if ends else None

    def place(type_: AssessmentType, wanted: date) -> tuple[date, date]:
        days = VISIT_DAYS[type_]
        if wanted < start_on:
            return fit_forward(start_on, days)
        s, e = fit_back(wanted, days)
        return fit_forward(start_on, days) if s < start_on else (s, e)

    for type_, target, tolerance in targets:
        existing = match(type_, target, tolerance) if type_ != T.reassessment else next(
            (a for a in live if a.type == T.reassessment and a.id not in used
             and a.planned_start_on >= after), None)
        if existing is not None:
            used.add(existing.id)
            slots.append(Slot(type_, existing.planned_start_on, existing.planned_end_on, existing))
            continue
        if target < start_on and type_ == T.surveillance:
            continue  # a past slot nobody held: not planned in the past
        last = last_onsite_before(target)
        if type_ == T.reassessment:
            while last is not None and target > last + max_gap:
                s, e = place(T.surveillance, last + max_gap)
                if e >= target:
                    break
                slots.append(Slot(T.surveillance, s, e))
                onsite_ends.append(e)
                last = e
        elif last is not None and target > last + max_gap:
            target = last + max_gap
        s, e = place(type_, target)
        slots.append(Slot(type_, s, e))
        onsite_ends.append(e)
    return sorted(slots, key=lambda s: (s.start, s.type != T.reassessment))


def _scope_lines(acc: Accreditation) -> list:
    """(id, position, summary, fields) of the lines that can be sampled, in scope order."""
    return db.session.execute(
        select(ScopeItem.id, ScopeItem.position, ScopeItem.summary, ScopeItem.fields)
        .where(ScopeItem.accreditation_id == acc.id, services.sampleable())
        .order_by(ScopeItem.position, ScopeItem.id)).all()


def _locations(acc: Accreditation) -> list[CabLocation]:
    return list(db.session.execute(
        select(CabLocation).where(CabLocation.cab_id == acc.cab_id, CabLocation.is_active)
        .order_by(CabLocation.code)).scalars())


def relevant_locations(items, locations: list[CabLocation]) -> list[CabLocation]:
    """The CAB's active locations that matter to this accreditation: those its scope lines name,
    and the critical ones; every active location when the lines name none (MS and person
    certification scopes have no location column)."""
    named = {str((fields or {}).get("location") or "") for _i, _p, _s, fields in items}
    chosen = [loc for loc in locations if loc.code in named or loc.is_critical]
    return chosen if any(loc.code in named for loc in locations) else list(locations)


def _chunks(values: list, n: int) -> list[list]:
    if n <= 0:
        return []
    size, extra = divmod(len(values), n)
    out, i = [], 0
    for k in range(n):
        step = size + (1 if k < extra else 0)
        out.append(values[i:i + step])
        i += step
    return out


def propose_programme(accreditation: Accreditation, *,
                      start_on: date | None = None) -> list[Assessment]:
    """Create the draft visits the tenant's policy asks for (``from_programme``), through
    :func:`services.create_assessment`; visits already planned are kept, so calling it again
    creates nothing. An applicant gets a document review and the initial assessment, then the
    cycle projected from the expected grant; an accredited CAB gets the remaining visits of its
    current cycle. The initial assessment and the reassessment sample the whole scope, the
    surveillances share it out; on-site visits go to every relevant location over the cycle.
    Audited as ``programme.proposed``."""
    if not accreditation.is_live:
        raise Conflict(_("This accreditation is %(s)s; it has no programme.",
                         s=accreditation.status.replace("_", " ")), code="accreditation_closed")
    start_on = start_on or date.today()
    policy = TenantPolicy.current()
    existing = assessments_of([accreditation.id])
    slots = [s for s in plan_slots(accreditation, existing, policy, start_on) if s.is_new]
    if not slots:
        return []
    items = _scope_lines(accreditation)
    locations = _locations(accreditation)
    where = [loc.code for loc in relevant_locations(items, locations)]
    critical = [loc.code for loc in locations if loc.code in where and loc.is_critical]
    others = [c for c in where if c not in critical]
    surveillances = [s for s in slots if s.type == T.surveillance]
    rotation = dict(zip((id(s) for s in surveillances),
                        _chunks(others, len(surveillances)), strict=True))
    # Lines the cycle's planned surveillances do not sample yet are shared out first.
    held_sample: set[int] = set()
    earlier = [a.id for a in existing if a.type == T.surveillance and a.status != S.cancelled
               and in_cycle(accreditation, a)]
    if earlier:
        held_sample = set(db.session.execute(
            select(AssessmentItem.scope_item_id).where(AssessmentItem.assessment_id.in_(earlier))
        ).scalars())
    all_ids = [row.id for row in items]
    spread = [i for i in all_ids if i not in held_sample] or all_ids
    shares = dict(zip((id(s) for s in surveillances), _chunks(spread, len(surveillances)),
                      strict=True))

    created: list[Assessment] = []
    for slot in slots:
        desk = slot.type == T.document_review
        if desk:
            codes: list[str] = []
        elif slot.type == T.surveillance:
            codes = critical + rotation[id(slot)] or where[:1]
        else:
            codes = where
        a = services.create_assessment(
            accreditation, slot.type.value,
            AssessmentMode.remote.value if desk else AssessmentMode.onsite.value,
            slot.start, slot.end, codes,
            remote_justification=DESK_REVIEW[0] if desk else None,
            ict_risk_note=DESK_REVIEW[1] if desk else None, internal_notes=PROPOSAL_NOTE)
        a.from_programme = True
        if slot.type in (T.initial, T.reassessment):
            services.set_sample(a, all_ids)
        elif slot.type == T.surveillance:
            services.set_sample(a, shares[id(slot)])
        created.append(a)
    db.session.flush()
    audit.record("programme.proposed", accreditation, changes={
        "assessments": [None, [{"id": a.id, "type": a.type, "start": a.planned_start_on,
                                "end": a.planned_end_on} for a in created]],
        "policy": [None, {"cycle_length_months": policy.cycle_length_months,
                          "first_surveillance_months": policy.first_surveillance_months,
                          "surveillance_interval_months": policy.surveillance_interval_months,
                          "onsite_interval_max_months": policy.onsite_interval_max_months}]})
    return created


# -- coverage -----------------------------------------------------------------------------------


@dataclass
class AssessmentCoverage:
    assessment: Assessment
    item_ids: set[int] = field(default_factory=set)
    locations: list[str] = field(default_factory=list)
    visits: bool = False  # on site (or on-site not applicable): its locations count as visited
    clusters: set[tuple[str, str]] = field(default_factory=set)  # (standard, cluster)
    critical: set[tuple[str, str]] = field(default_factory=set)  # (standard, code)


@dataclass
class ItemRow:
    id: int
    position: int
    summary: str
    sampled_by: list[int]  # assessment ids


@dataclass
class LocationRow:
    code: str
    name: str
    is_critical: bool
    listed_by: list[int]
    visited_by: list[int]


@dataclass
class ClusterRow:
    standard: str
    cluster: str
    codes: list[str]
    critical: list[str]
    covered_by: list[int]


@dataclass
class CodeRow:
    standard: str
    code: str
    name: str
    cluster: str
    covered_by: list[int]


@dataclass
class Coverage:
    window: tuple[date | None, date | None]
    scope_type: ScopeType
    assessments: list[AssessmentCoverage]
    items: list[ItemRow]
    locations: list[LocationRow]
    clusters: list[ClusterRow]
    critical_codes: list[CodeRow]

    @property
    def uncovered_items(self) -> list[ItemRow]:
        return [i for i in self.items if not i.sampled_by]

    @property
    def unvisited_locations(self) -> list[LocationRow]:
        return [loc for loc in self.locations if not loc.visited_by]

    @property
    def uncovered_clusters(self) -> list[ClusterRow]:
        return [c for c in self.clusters if not c.covered_by]

    @property
    def uncovered_critical_codes(self) -> list[CodeRow]:
        return [c for c in self.critical_codes if not c.covered_by]

    @property
    def is_ms(self) -> bool:
        return self.scope_type == ScopeType.ms_certification


def _ms_areas(fields: dict, iaf: dict, food: dict):
    """The (standard, cluster) pairs of an MS scope line with their codes, and its (standard,
    critical IAF code) pairs, through the tenant's reference lists (its own MD 17 clusters)."""
    standard = str(fields.get("standard") or "")
    clusters: dict[tuple[str, str], set[str]] = defaultdict(set)
    critical: set[tuple[str, str]] = set()
    for code in fields.get("iaf_codes") or []:
        code = str(code)
        term = iaf.get(code)
        name = term.group if term is not None and term.group else _("IAF %(c)s (no cluster)",
                                                                      c=code)
        clusters[(standard, name)].add(code)
        if term is not None and term.is_critical:
            critical.add((standard, code))
    for code in fields.get("food_chain") or []:
        code = str(code)
        term = food.get(code)
        name = term.group if term is not None and term.group else _("Category %(c)s", c=code)
        clusters[(standard, name)].add(code)
    return clusters, critical


def coverage(accreditation: Accreditation) -> Coverage:
    """What the cycle's assessments sample (scope lines, locations, and for MS CBs the IAF
    clusters and critical codes through the tenant's reference lists) and what stays uncovered.
    A fixed number of queries whatever the size of the scope or the samples."""
    scope_type = ScopeType(db.session.execute(
        select(Programme.scope_type).where(Programme.id == accreditation.programme_id)
    ).scalar_one())
    window = [a for a in _live(assessments_of([accreditation.id])) if in_cycle(accreditation, a)]
    rows = {a.id: AssessmentCoverage(
        a, locations=list(a.location_codes or []),
        visits=a.type != T.document_review and (a.mode != AssessmentMode.remote
                                                or a.onsite_not_applicable))
        for a in window}
    if rows:
        for assessment_id, item_id in db.session.execute(
                select(AssessmentItem.assessment_id, AssessmentItem.scope_item_id)
                .where(AssessmentItem.assessment_id.in_(list(rows)))):
            rows[assessment_id].item_ids.add(item_id)
    items = _scope_lines(accreditation)
    by_item: dict[int, list[int]] = defaultdict(list)
    for r in rows.values():
        for i in r.item_ids:
            by_item[i].append(r.assessment.id)
    item_rows = [ItemRow(i, p, s, by_item.get(i, [])) for i, p, s, _f in items]

    locations = _locations(accreditation)
    location_rows = [LocationRow(
        loc.code, loc.name, loc.is_critical,
        [r.assessment.id for r in rows.values() if loc.code in r.locations],
        [r.assessment.id for r in rows.values() if r.visits and loc.code in r.locations])
        for loc in relevant_locations(items, locations)]

    cluster_rows: list[ClusterRow] = []
    code_rows: list[CodeRow] = []
    if scope_type == ScopeType.ms_certification:
        iaf = refdata.terms(TermKind.iaf_code)
        food = refdata.terms(TermKind.food_chain)
        cluster_codes: dict[tuple[str, str], set[str]] = defaultdict(set)
        critical_all: set[tuple[str, str]] = set()
        areas = {}
        for i, _p, _s, fields in items:
            clusters, critical = _ms_areas(fields or {}, iaf, food)
            areas[i] = (set(clusters), critical)
            critical_all |= critical
            for key, codes in clusters.items():
                cluster_codes[key] |= codes
        for r in rows.values():
            for i in r.item_ids:
                if i in areas:
                    r.clusters |= areas[i][0]
                    r.critical |= areas[i][1]
        ordered = list(rows.values())

        def code_key(c: str):
            return (0, int(c)) if c.isdigit() else (1, c)

        for key in sorted(cluster_codes):
            codes = sorted(cluster_codes[key], key=code_key)
            cluster_rows.append(ClusterRow(
                key[0], key[1], codes, [c for c in codes if (key[0], c) in critical_all],
                [r.assessment.id for r in ordered if key in r.clusters]))
        for std, code in sorted(critical_all, key=lambda k: (k[0], code_key(k[1]))):
            term = iaf.get(code)
            code_rows.append(CodeRow(std, code, term.name if term else code,
                                     term.group if term and term.group else "",
                                     [r.assessment.id for r in ordered
                                      if (std, code) in r.critical]))
    return Coverage((accreditation.cycle_start_on, accreditation.cycle_end_on), scope_type,
                    list(rows.values()), item_rows, location_rows, cluster_rows, code_rows)


@job
def propose_after_grant(tenant_id: int, accreditation_id: int, start_on: str) -> int:
    """After the first grant's commit: complete the cycle's programme (the visits already
    planned are kept, so a re-run creates nothing). A job, so that the decision's request does
    not wait for the sampling of every visit (2,000 lines × 5 visits). Returns how many visits
    were created."""
    from accreditor.core.tenancy import tenant_scope

    with tenant_scope(tenant_id):
        acc = db.session.execute(select(Accreditation).where(
            Accreditation.id == accreditation_id)).scalar_one_or_none()
        if acc is None or not acc.is_live:
            return 0
        try:
            return len(propose_programme(acc, start_on=date.fromisoformat(start_on)))
        except Conflict:  # e.g. a grant backdated past its whole cycle: no visits to propose
            return 0
