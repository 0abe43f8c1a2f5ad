"""The accreditation cycle programme: proposal from the tenant's policy, the cycle rules (7–11,
first surveillance) with blocking warnings, the coverage view, the pages and their queries."""

from __future__ import annotations

import re
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from accreditor.assessments import programme, services
from accreditor.assessments.models import Assessment, AssessmentItem
from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit
from accreditor.core.errors import Conflict
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.scopes import services as scope_services
from accreditor.scopes.models import Accreditation, ScopeItem
from accreditor.tenants.models import TenantPolicy
from tests.assessments.assessment_helpers import TODAY
from tests.auth.helpers import field_error, flashes, text
from tests.factories import (
    CAL_LINE,
    MASS_LINE,
    create_accreditation,
    create_cab,
    create_cab_user,
)

NOTE = "Flood closed the site; virtual assessment of the same objectives"
REMOTE = {"remote_justification": "Travel ban in the region",
          "ict_risk_note": "Video link tested; records shared on screen"}
MASS_LINE_B = {**MASS_LINE, "location": "B"}  # the weights line, at the annex


# -- builders -----------------------------------------------------------------------------------


def load_acc(tenant, acc_id: int) -> Accreditation:
    db.session.expire_all()
    return db.session.execute(
        select(Accreditation).where(Accreditation.id == acc_id)
        .options(selectinload(Accreditation.programme), selectinload(Accreditation.cab))
    ).scalar_one()


def cal_acc(tenant, name="Precision Metrology Ltd", lines=(CAL_LINE, MASS_LINE_B),
            locations=(("A", "Head office"), ("B", "Annex"))):
    cab = create_cab(tenant, name, locations=locations)
    return cab, create_accreditation(tenant, cab, "17025-C", lines=list(lines))


def granted(tenant, name="Precision Metrology Ltd", *, on: date, lines=(CAL_LINE, MASS_LINE_B)):
    """An accredited calibration lab whose cycle started ``on``."""
    cab, acc = cal_acc(tenant, name, lines)
    with tenant_scope(tenant):
        scope_services.grant(load_acc(tenant, acc.id), effective_on=on, propose=False)
        commit()
        acc = load_acc(tenant, acc.id)
    return cab, acc


def plan(tenant, acc_id, type_, start, days=1, mode="onsite", **kw):
    with tenant_scope(tenant):
        acc = load_acc(tenant, acc_id)
        extra = {**REMOTE, **kw} if mode != "onsite" else kw
        a = services.create_assessment(acc, type_, mode, start, start + timedelta(days=days - 1),
                                       ["A"], **extra)
        commit()
        return a.id


def set_status(tenant, assessment_id, status):
    with tenant_scope(tenant):
        a = db.session.execute(select(Assessment).where(Assessment.id == assessment_id)).scalar_one()
        a.status = status
        if status == "closed":
            from accreditor.core.db import utcnow
            a.closed_at = utcnow()
        commit()


def problems_of(tenant, acc_id, today=None):
    with tenant_scope(tenant):
        return programme.check_programme(load_acc(tenant, acc_id), today=today)


def rules(problems) -> set[tuple[str, bool]]:
    return {(p.rule, p.blocking) for p in problems}


def set_policy(tenant, **values):
    with tenant_scope(tenant):
        policy = db.session.execute(select(TenantPolicy)).scalar_one()
        for k, v in values.items():
            setattr(policy, k, v)
        commit()


def propose(tenant, acc_id, start_on=None) -> list[dict]:
    with tenant_scope(tenant):
        created = programme.propose_programme(load_acc(tenant, acc_id), start_on=start_on)
        out = [{"id": a.id, "type": a.type, "start": a.planned_start_on, "end": a.planned_end_on,
                "mode": a.mode, "locations": list(a.location_codes),
                "from_programme": a.from_programme} for a in created]
        commit()
    return out


def assessments_of(tenant, acc_id) -> list[Assessment]:
    db.session.expire_all()
    with tenant_scope(tenant):
        return list(db.session.execute(
            select(Assessment).where(Assessment.accreditation_id == acc_id)
            .order_by(Assessment.planned_start_on)).scalars())


def near(actual: date, target: date) -> bool:
    """A proposed visit moves at most four days earlier to fall on weekdays."""
    return target - timedelta(days=4) <= actual <= target


# -- proposal -----------------------------------------------------------------------------------


def test_an_initial_accreditation_gets_the_programme_of_the_default_policy(tenant_a):
    _cab, acc = cal_acc(tenant_a)
    accepted = date(2026, 3, 2)
    created = propose(tenant_a, acc.id, start_on=accepted)
    assert [c["type"] for c in created] == ["document_review", "initial", "surveillance",
                                           "surveillance", "surveillance", "surveillance",
                                           "reassessment"]
    assert all(c["from_programme"] for c in created)
    review, initial, *surveillances, reassessment = created
    assert accepted < review["start"] < initial["start"]
    assert review["mode"] == "remote"  # a desk review, never counted as on-site (rule 9)
    assert near(initial["start"], accepted + relativedelta(months=3))
    # The cycle is projected from the expected grant, three months after the initial visit.
    grant = initial["end"] + relativedelta(months=programme.DECISION_AFTER_MONTHS)
    for months, s in zip((12, 24, 36, 48), surveillances, strict=True):
        assert near(s["start"], grant + relativedelta(months=months)), (months, s, grant)
    assert near(reassessment["end"], grant + relativedelta(months=54))
    assert reassessment["end"] < grant + relativedelta(months=60)
    for a in created:  # every visit falls on weekdays
        assert a["start"].weekday() < 5 and a["end"].weekday() < 5
    # Whole scope at the initial assessment and the reassessment; locations over the cycle.
    assert set(initial["locations"]) == {"A", "B"} == set(reassessment["locations"])
    assert {loc for s in surveillances for loc in s["locations"]} == {"A", "B"}
    with tenant_scope(tenant_a):
        samples = dict(db.session.execute(
            select(AssessmentItem.assessment_id, func.count()).group_by(
                AssessmentItem.assessment_id)).all())
    assert samples[initial["id"]] == 2 == samples[reassessment["id"]]
    assert sum(samples.get(s["id"], 0) for s in surveillances) == 2
    assert [p for p in problems_of(tenant_a, acc.id) if p.blocking] == []


def test_a_tenant_with_another_policy_gets_other_dates(tenant_a, tenant_b):
    """UKAS-like: a four-year cycle, the first visit six months after the grant, yearly after."""
    set_policy(tenant_b, cycle_length_months=48, first_surveillance_months=6,
               surveillance_interval_months=12)
    _cab, acc_b = cal_acc(tenant_b, "Bravo Gauges Ltd")
    _cab, acc_a = cal_acc(tenant_a)
    accepted = date(2026, 3, 2)
    created_b = propose(tenant_b, acc_b.id, start_on=accepted)
    created_a = propose(tenant_a, acc_a.id, start_on=accepted)
    assert [c["type"] for c in created_b] == ["document_review", "initial", "surveillance",
                                             "surveillance", "surveillance", "reassessment"]
    grant = created_b[1]["end"] + relativedelta(months=programme.DECISION_AFTER_MONTHS)
    for months, s in zip((6, 18, 30), created_b[2:5], strict=True):
        assert near(s["start"], grant + relativedelta(months=months))
    assert near(created_b[-1]["end"], grant + relativedelta(months=42))
    assert [c["start"] for c in created_b[2:]] != [c["start"] for c in created_a[2:6]]


def test_proposing_again_adds_nothing_and_keeps_moved_visits(tenant_a):
    _cab, acc = cal_acc(tenant_a)
    first = propose(tenant_a, acc.id, start_on=date(2026, 3, 2))
    # The manager moves the first surveillance by two months: it still fills its slot.
    with tenant_scope(tenant_a):
        a = db.session.execute(select(Assessment).where(Assessment.id == first[2]["id"])).scalar_one()
        services.update_assessment(a, planned_start_on=a.planned_start_on - relativedelta(months=2),
                                   planned_end_on=a.planned_end_on - relativedelta(months=2))
        commit()
    assert propose(tenant_a, acc.id, start_on=date(2026, 3, 2)) == []
    assert len(assessments_of(tenant_a, acc.id)) == len(first)
    with tenant_scope(tenant_a):
        events = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "programme.proposed")).scalars().all()
    assert len(events) == 1 and len(events[0].changes["assessments"][1]) == len(first)


def test_an_accredited_cab_gets_the_remaining_visits_of_its_cycle(tenant_a):
    grant = TODAY - relativedelta(months=18)
    _cab, acc = granted(tenant_a, on=grant)
    # The first surveillance was held.
    held = plan(tenant_a, acc.id, "surveillance", grant + relativedelta(months=12))
    set_status(tenant_a, held, "closed")
    created = propose(tenant_a, acc.id)
    assert [c["type"] for c in created] == ["surveillance", "surveillance", "surveillance",
                                           "reassessment"]
    for months, s in zip((24, 36, 48), created[:3], strict=True):
        assert near(s["start"], grant + relativedelta(months=months))
    assert created[-1]["end"] < acc.cycle_end_on
    assert all(c["start"] >= TODAY for c in created)
    assert propose(tenant_a, acc.id) == []


def test_the_proposal_never_leaves_more_than_the_on_site_maximum_between_visits(tenant_a):
    """A policy whose first surveillance would come 27 months after the initial visit: the
    proposal moves it to 24 months (rule 9); a 36-month interval gets extra visits."""
    set_policy(tenant_a, first_surveillance_months=24, surveillance_interval_months=36)
    _cab, acc = cal_acc(tenant_a)
    created = propose(tenant_a, acc.id, start_on=date(2026, 3, 2))
    onsite = [c for c in created if c["type"] != "document_review"]
    for prev, nxt in zip(onsite, onsite[1:], strict=False):
        assert nxt["start"] <= prev["end"] + relativedelta(months=24), (prev, nxt)
    assert [p for p in problems_of(tenant_a, acc.id) if p.code == "onsite_interval"] == []


def test_the_first_grant_completes_the_programme_and_proposing_again_adds_nothing(tenant_a):
    cab, acc = cal_acc(tenant_a)
    with tenant_scope(tenant_a):
        scope_services.grant(load_acc(tenant_a, acc.id), effective_on=TODAY)
        commit()
    made = assessments_of(tenant_a, acc.id)
    assert [a.type for a in made] == ["surveillance"] * 4 + ["reassessment"]
    assert all(a.from_programme and a.status == "draft" for a in made)
    assert near(made[0].planned_start_on, TODAY + relativedelta(months=12))
    assert propose(tenant_a, acc.id) == []


def test_a_first_grant_backdated_past_its_cycle_commits_and_proposes_nothing(tenant_a):
    """The programme is proposed by a job after the grant's commit: a cycle already over has no
    visits to propose, and the job must not fail (tests raise job errors)."""
    cab, acc = cal_acc(tenant_a)
    with tenant_scope(tenant_a):
        scope_services.grant(load_acc(tenant_a, acc.id),
                             effective_on=TODAY - relativedelta(years=6))
        commit()
        assert load_acc(tenant_a, acc.id).initial_grant_on is not None
    assert assessments_of(tenant_a, acc.id) == []


def test_no_programme_for_a_withdrawn_or_ended_accreditation(tenant_a):
    _cab, acc = granted(tenant_a, on=TODAY - relativedelta(years=6))
    with tenant_scope(tenant_a):
        with pytest.raises(Conflict, match="cycle ended"):
            programme.propose_programme(load_acc(tenant_a, acc.id))
        a = load_acc(tenant_a, acc.id)
        scope_services.withdraw(a, effective_on=TODAY, voluntary=True)
        commit()
        with pytest.raises(Conflict, match="withdrawn"):
            programme.propose_programme(load_acc(tenant_a, acc.id))


# -- rules --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b", "expected"), [
    (date(2026, 3, 13), date(2028, 4, 13), (25, 0)),
    (date(2026, 3, 13), date(2028, 4, 14), (25, 1)),
    (date(2026, 3, 31), date(2028, 4, 30), (25, 0)),  # a month end is a whole month
    (date(2024, 2, 29), date(2029, 2, 28), (60, 0)),
    (date(2026, 3, 13), date(2028, 3, 12), (23, 28)),
])
def test_months_between_counts_whole_months(app, a, b, expected):
    assert programme.months_between(a, b) == expected


def test_the_rule_9_message_names_the_dates_and_the_maximum(tenant_a):
    with tenant_scope(tenant_a):
        acc = SimpleNamespace(cycle_start_on=None, cycle_end_on=None, status="applicant",
                              status_enum=scope_services.AccreditationStatus.applicant)
        policy = SimpleNamespace(onsite_interval_max_months=24)
        visits = [Assessment(id=1, type="surveillance", mode="onsite", status="closed",
                             planned_start_on=date(2026, 3, 12), planned_end_on=date(2026, 3, 13)),
                  Assessment(id=2, type="reassessment", mode="onsite", status="draft",
                             planned_start_on=date(2028, 4, 14), planned_end_on=date(2028, 4, 15))]
        [p] = programme.evaluate(acc, visits, policy, date(2026, 1, 1))
    assert p.message == ("Rule 9: 25 months and 1 day between on-site assessments (13 Mar 2026 → "
                         "14 Apr 2028); at most 24 months.")
    assert p.blocking and p.subject_id == 2 and p.label == "Rule 9"


@pytest.fixture
def accredited(tenant_a):
    _cab, acc = granted(tenant_a, on=TODAY - relativedelta(months=2))
    return acc


def test_an_on_site_assessment_25_months_after_the_last_is_a_blocking_rule_9_warning(
        tenant_a, accredited):
    first = plan(tenant_a, accredited.id, "surveillance", TODAY + timedelta(days=30))
    last_day = TODAY + timedelta(days=30)
    late = plan(tenant_a, accredited.id, "surveillance", last_day + relativedelta(months=25))
    found = [p for p in problems_of(tenant_a, accredited.id) if p.code == "onsite_interval"]
    assert len(found) == 1
    p = found[0]
    assert p.blocking and p.subject_id == late and p.assessment_ids == [first, late]
    assert p.message.startswith("Rule 9: 25 months between on-site assessments (")
    assert programme.fmt(last_day) in p.message and "at most 24 months" in p.message
    with tenant_scope(tenant_a):
        a = db.session.execute(select(Assessment).where(Assessment.id == late)).scalar_one()
        assert [q.rule for q in programme.blocking_problems(a)] == ["9"]
        early = db.session.execute(select(Assessment).where(Assessment.id == first)).scalar_one()
        assert programme.blocking_problems(early) == []
    # 24 months is allowed.
    with tenant_scope(tenant_a):
        services.update_assessment(a, planned_start_on=last_day + relativedelta(months=24),
                                   planned_end_on=last_day + relativedelta(months=24))
        commit()
    assert [p for p in problems_of(tenant_a, accredited.id) if p.code == "onsite_interval"] == []


def test_a_remote_assessment_in_between_does_not_reset_the_on_site_clock(tenant_a, accredited):
    start = TODAY + timedelta(days=30)
    plan(tenant_a, accredited.id, "surveillance", start)
    remote = plan(tenant_a, accredited.id, "surveillance", start + relativedelta(months=12),
                  mode="remote")
    plan(tenant_a, accredited.id, "reassessment", start + relativedelta(months=25))
    p = next(p for p in problems_of(tenant_a, accredited.id) if p.rule == "9")
    assert p.blocking and "does not reset the on-site clock" in p.message
    # Marked "on-site not applicable" with a reason, the remote assessment counts.
    with tenant_scope(tenant_a):
        a = db.session.execute(select(Assessment).where(Assessment.id == remote)).scalar_one()
        services.update_assessment(a, onsite_not_applicable=True,
                                   onsite_not_applicable_reason=NOTE)
        commit()
    assert [p for p in problems_of(tenant_a, accredited.id) if p.code == "onsite_interval"] == []


def test_a_hybrid_assessment_counts_as_on_site(tenant_a, accredited):
    start = TODAY + timedelta(days=30)
    plan(tenant_a, accredited.id, "surveillance", start)
    plan(tenant_a, accredited.id, "surveillance", start + relativedelta(months=12), mode="hybrid")
    plan(tenant_a, accredited.id, "reassessment", start + relativedelta(months=25))
    assert [p for p in problems_of(tenant_a, accredited.id) if p.code == "onsite_interval"] == []


def test_an_overdue_on_site_assessment_is_reported_but_does_not_block_its_own_plan(tenant_a):
    _cab, acc = granted(tenant_a, on=TODAY - relativedelta(months=40))
    held = plan(tenant_a, acc.id, "surveillance", TODAY - relativedelta(months=26))
    set_status(tenant_a, held, "closed")
    soon = plan(tenant_a, acc.id, "surveillance", TODAY + timedelta(days=10))
    p = next(p for p in problems_of(tenant_a, acc.id) if p.rule == "9")
    assert p.subject_id == soon and not p.blocking and "as soon as possible" in p.message


def test_a_past_visit_that_was_never_held_does_not_reset_the_on_site_clock(tenant_a):
    """Rule 9: a surveillance dated two months ago that is still a draft did not happen; the
    clock runs from the last visit held, so the next, 26 months after it, is too late."""
    _cab, acc = granted(tenant_a, on=TODAY - relativedelta(months=22))
    held = plan(tenant_a, acc.id, "surveillance", TODAY - relativedelta(months=20))
    set_status(tenant_a, held, "closed")
    stale = plan(tenant_a, acc.id, "surveillance", TODAY - relativedelta(months=2))
    nxt = plan(tenant_a, acc.id, "surveillance", TODAY + relativedelta(months=6))
    found = problems_of(tenant_a, acc.id)
    gap = next(p for p in found if p.code == "onsite_interval")
    assert gap.blocking and gap.assessment_ids == [held, nxt] and gap.subject_id == nxt
    not_held = next(p for p in found if p.code == "onsite_not_held")
    assert not not_held.blocking and not_held.subject_id == stale
    assert "was not held (it is draft)" in not_held.message
    assert "record it or cancel it" in not_held.message
    with tenant_scope(tenant_a):
        a = db.session.execute(select(Assessment).where(Assessment.id == nxt)).scalar_one()
        assert [p.rule for p in programme.blocking_problems(a)] == ["9"]
    # Held after all (recorded as in progress), it counts again.
    set_status(tenant_a, stale, "in_progress")
    assert not {"onsite_interval", "onsite_not_held"} & {
        p.code for p in problems_of(tenant_a, acc.id)}


def test_the_proposal_does_not_count_a_past_visit_that_was_never_held(app):
    """plan_slots: the surveillance of Dec 2025 is still a draft a year later, so the next
    surveillance is proposed at once (24 months after the one held in Nov 2024), not in Jan
    2027 as if the draft had reset the clock."""
    with app.app_context():
        acc = SimpleNamespace(cycle_start_on=date(2024, 1, 1), cycle_end_on=date(2029, 1, 1),
                              initial_grant_on=date(2024, 1, 1),
                              status_enum=scope_services.AccreditationStatus.accredited)
        policy = SimpleNamespace(first_surveillance_months=12, surveillance_interval_months=12,
                                 onsite_interval_max_months=24, cycle_length_months=60)
        visits = [Assessment(id=1, type="surveillance", mode="onsite", status="closed",
                             planned_start_on=date(2024, 11, 4), planned_end_on=date(2024, 11, 4)),
                  Assessment(id=2, type="surveillance", mode="onsite", status="plan_approved",
                             planned_start_on=date(2025, 12, 1), planned_end_on=date(2025, 12, 1))]
        slots = programme.plan_slots(acc, visits, policy, date(2026, 12, 3))
    new = [s for s in slots if s.is_new]
    assert new[0].type == "surveillance" and new[0].start == date(2026, 12, 3)


def test_a_suspension_needs_a_completed_on_site_assessment_not_one_in_progress(tenant_a):
    """Rule 10: the on-site assessment must be completed (report issued or closed); one still
    in progress does not lift the block."""
    _cab, acc = granted(tenant_a, on=TODAY - relativedelta(months=40))
    with tenant_scope(tenant_a):
        items = [i.id for i in db.session.execute(select(ScopeItem)).scalars()]
        scope_services.suspend(load_acc(tenant_a, acc.id), item_ids=items, effective_on=TODAY)
        commit()
    visit = plan(tenant_a, acc.id, "surveillance", TODAY - timedelta(days=3), days=2)
    set_status(tenant_a, visit, "in_progress")
    p = next(p for p in problems_of(tenant_a, acc.id) if p.rule == "10")
    assert "is not on record" in p.message and "completed" in p.message
    set_status(tenant_a, visit, "report_issued")
    assert "10" not in {p.rule for p in problems_of(tenant_a, acc.id)}


def test_a_reassessment_after_the_cycle_end_is_blocked(tenant_a, accredited):
    end = accredited.cycle_end_on
    late = plan(tenant_a, accredited.id, "reassessment", end - timedelta(days=1), days=2)
    p = next(p for p in problems_of(tenant_a, accredited.id) if p.rule == "11")
    assert p.blocking and p.subject_id == late
    assert p.message.startswith("Rule 11: the reassessment ends") and programme.fmt(end) in p.message
    with tenant_scope(tenant_a):
        a = db.session.execute(select(Assessment).where(Assessment.id == late)).scalar_one()
        services.update_assessment(a, planned_start_on=end - timedelta(days=10),
                                   planned_end_on=end - timedelta(days=9))
        commit()
    assert [p for p in problems_of(tenant_a, accredited.id) if p.rule == "11"] == []


def test_without_a_reassessment_the_programme_warns(tenant_a, accredited):
    p = next(p for p in problems_of(tenant_a, accredited.id) if p.rule == "11")
    assert not p.blocking and p.code == "reassessment_missing"


def test_a_visit_after_the_cycle_end_is_blocked_and_suspension_does_not_move_the_end(
        tenant_a, accredited):
    end = accredited.cycle_end_on
    with tenant_scope(tenant_a):
        acc = load_acc(tenant_a, accredited.id)
        items = [i.id for i in db.session.execute(select(ScopeItem)).scalars()]
        scope_services.suspend(acc, item_ids=items, effective_on=TODAY)
        commit()
        assert load_acc(tenant_a, accredited.id).cycle_end_on == end  # rule 8
    after = plan(tenant_a, accredited.id, "surveillance", end + timedelta(days=20))
    p = next(p for p in problems_of(tenant_a, accredited.id) if p.rule == "8")
    assert p.blocking and p.subject_id == after
    assert "The cycle end never moves, not even for a suspension" in p.message
    # Rule 10: suspended, with no on-site assessment on record.
    assert ("10", False) in rules(problems_of(tenant_a, accredited.id))


def test_the_first_surveillance_later_than_the_policy_offset_is_blocking(tenant_a, accredited):
    grant = accredited.cycle_start_on
    late = plan(tenant_a, accredited.id, "surveillance", grant + relativedelta(months=13))
    p = next(p for p in problems_of(tenant_a, accredited.id) if p.rule == "policy")
    assert p.blocking and p.subject_id == late and "within 12 months of the grant" in p.message
    set_policy(tenant_a, first_surveillance_months=14)
    assert [p for p in problems_of(tenant_a, accredited.id) if p.rule == "policy"] == []


def test_a_cycle_longer_than_five_years_blocks_every_plan(tenant_a, accredited):
    some = plan(tenant_a, accredited.id, "surveillance", TODAY + timedelta(days=30))
    with tenant_scope(tenant_a):
        acc = load_acc(tenant_a, accredited.id)
        acc.cycle_end_on = acc.cycle_start_on + relativedelta(years=5, days=1)
        commit()
        a = db.session.execute(select(Assessment).where(Assessment.id == some)).scalar_one()
        assert "7" in {p.rule for p in programme.blocking_problems(a)}


def test_cancelled_assessments_do_not_count(tenant_a, accredited):
    start = TODAY + timedelta(days=30)
    plan(tenant_a, accredited.id, "surveillance", start)
    middle = plan(tenant_a, accredited.id, "surveillance", start + relativedelta(months=12))
    plan(tenant_a, accredited.id, "reassessment", start + relativedelta(months=25))
    assert [p for p in problems_of(tenant_a, accredited.id) if p.code == "onsite_interval"] == []
    with tenant_scope(tenant_a):
        a = db.session.execute(select(Assessment).where(Assessment.id == middle)).scalar_one()
        services.cancel_assessment(a, "The CAB moved premises")
        commit()
    assert ("9", True) in rules(problems_of(tenant_a, accredited.id))


# -- pages --------------------------------------------------------------------------------------


def url(acc_id, suffix="", slug="alpha"):
    return f"/{slug}/programme/{acc_id}{suffix}"


def row(resp, assessment_id) -> str:
    """The text of an assessment's row and, below it, its problems."""
    body = resp.get_data(as_text=True)
    m = re.search(rf'<tr id="assessment-{assessment_id}".*?</tr>(\s*<tr class="border-0">.*?</tr>)?',
                  body, re.S)
    assert m, f"no row for assessment {assessment_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", m.group(0)).split())


def test_a_manager_proposes_the_programme_from_the_page(client, login_as, tenant_a, manager):
    _cab, acc = cal_acc(tenant_a)
    login_as(manager)
    page = client.get(url(acc.id))
    assert page.status_code == 200
    assert "Nothing is planned yet." in text(page) and "Propose programme" in text(page)
    assert "Reassessment" in text(page)  # the proposal lists what it would create
    resp = client.post(url(acc.id, "/propose"))
    assert resp.status_code == 302
    page = client.get(url(acc.id))
    created = assessments_of(tenant_a, acc.id)
    assert len(created) == 7 and all(a.from_programme for a in created)
    assert "draft assessment(s) proposed" in " ".join(flashes(page))
    body = page.get_data(as_text=True)
    for a in created:
        assert f'href="/alpha/assessments/{a.id}"' in body
    assert "Propose programme" not in text(page)
    assert 'data-testid="timeline"' in body
    again = client.post(url(acc.id, "/propose"), follow_redirects=True)
    assert "nothing was added" in " ".join(flashes(again))
    assert len(assessments_of(tenant_a, acc.id)) == 7


def test_moving_the_next_on_site_to_25_months_after_the_last_shows_a_blocking_rule_9_warning(
        client, login_as, tenant_a, manager, accredited):
    start = TODAY + timedelta(days=30)
    first = plan(tenant_a, accredited.id, "surveillance", start)
    second = plan(tenant_a, accredited.id, "surveillance", start + relativedelta(months=12))
    login_as(manager)
    assert "Rule 9" not in row(client.get(url(accredited.id)), second)
    moved = start + relativedelta(months=25)
    resp = client.post(url(accredited.id, f"/assessments/{second}/dates"),
                       data={f"a{second}-planned_start_on": moved.isoformat(),
                             f"a{second}-planned_end_on": moved.isoformat()})
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"])
    assert assessments_of(tenant_a, accredited.id)[1].planned_start_on == moved  # saved
    flash = " ".join(flashes(page))
    assert "Dates saved." in flash and "Rule 9: 25 months between on-site assessments" in flash
    the_row = row(page, second)
    assert "Blocks plan approval" in the_row and "at most 24 months" in the_row
    assert "Rule 9" not in row(page, first)
    assert "a blocking problem refuses the approval of the plan" in text(page)
    assert 'data-testid="blocking-count"' in page.get_data(as_text=True)


def test_dates_that_the_service_refuses_are_shown_beside_the_field(client, login_as, tenant_a,
                                                                   manager, accredited):
    a = plan(tenant_a, accredited.id, "surveillance", TODAY + timedelta(days=30))
    login_as(manager)
    resp = client.post(url(accredited.id, f"/assessments/{a}/dates"),
                       data={f"a{a}-planned_start_on": (TODAY + timedelta(days=40)).isoformat(),
                             f"a{a}-planned_end_on": (TODAY + timedelta(days=39)).isoformat()})
    assert resp.status_code == 400
    assert field_error(resp, f"a{a}-planned_end_on") == "The end date is before the start date."
    assert assessments_of(tenant_a, accredited.id)[0].planned_start_on == TODAY + timedelta(days=30)
    missing = client.post(url(accredited.id, f"/assessments/{a}/dates"),
                          data={f"a{a}-planned_start_on": ""})
    assert missing.status_code == 400 and field_error(missing, f"a{a}-planned_start_on")


def test_an_approved_plan_has_no_date_form(client, login_as, tenant_a, manager, accredited):
    a = plan(tenant_a, accredited.id, "surveillance", TODAY + timedelta(days=30))
    set_status(tenant_a, a, "plan_approved")
    login_as(manager)
    page = client.get(url(accredited.id))
    assert f'a{a}-planned_start_on' not in page.get_data(as_text=True)
    assert "reopen the team" in row(page, a)
    resp = client.post(url(accredited.id, f"/assessments/{a}/dates"),
                       data={f"a{a}-planned_start_on": TODAY.isoformat(),
                             f"a{a}-planned_end_on": TODAY.isoformat()})
    assert resp.status_code == 409


def test_other_staff_read_but_only_managers_change(client, login_as, tenant_a, make_user,
                                                   accredited):
    a = plan(tenant_a, accredited.id, "surveillance", TODAY + timedelta(days=30))
    reader = make_user(tenant_a, "dm@alpha.example.org", [Role.decision_maker, Role.assessor])
    login_as(reader)
    page = client.get(url(accredited.id))
    assert page.status_code == 200 and "Precision Metrology Ltd" in text(page)
    assert programme.fmt(TODAY + timedelta(days=30)) in row(page, a)
    coverage = client.get(url(accredited.id, "/coverage"))
    assert coverage.status_code == 200
    assert "Precision Metrology Ltd" in text(coverage) and "Scope lines" in text(coverage)
    assert "Save dates" not in text(page) and "Propose" not in text(page)
    assert client.post(url(accredited.id, "/propose")).status_code == 403
    assert client.post(url(accredited.id, f"/assessments/{a}/dates"),
                       data={f"a{a}-planned_start_on": TODAY.isoformat(),
                             f"a{a}-planned_end_on": TODAY.isoformat()}).status_code == 403
    listing = client.get("/alpha/programme/")
    assert listing.status_code == 200 and "Precision Metrology Ltd" in text(listing)


def test_cab_users_and_other_tenants_get_404(client, login_as, tenant_a, tenant_b, admin_b,
                                             manager, accredited):
    a = plan(tenant_a, accredited.id, "surveillance", TODAY + timedelta(days=30))
    with tenant_scope(tenant_a):
        own_cab = SimpleNamespace(id=load_acc(tenant_a, accredited.id).cab_id)
    cab_user = create_cab_user(tenant_a, own_cab, "cab@precision.example.org")
    login_as(cab_user)
    for u in ("", "/coverage"):
        assert client.get(url(accredited.id, u)).status_code == 404
    assert client.get("/alpha/programme/").status_code == 404
    assert client.post(url(accredited.id, "/propose")).status_code == 404
    # Another tenant's administrator, in their own tenant, with tenant A's ids.
    login_as(admin_b)
    for u in ("", "/coverage"):
        assert client.get(url(accredited.id, u, slug="bravo")).status_code == 404
    assert client.post(url(accredited.id, "/propose", slug="bravo")).status_code == 404
    assert client.post(url(accredited.id, f"/assessments/{a}/dates", slug="bravo"),
                       data={f"a{a}-planned_start_on": TODAY.isoformat(),
                             f"a{a}-planned_end_on": TODAY.isoformat()}).status_code == 404
    assert "Precision" not in text(client.get("/bravo/programme/"))
    # An assessment of another accreditation under this one's URL.
    login_as(manager)
    _cab, other = cal_acc(tenant_a, "Other Gauges Ltd")
    foreign = plan(tenant_a, other.id, "surveillance", TODAY + timedelta(days=30))
    assert client.post(url(accredited.id, f"/assessments/{foreign}/dates"),
                       data={f"a{foreign}-planned_start_on": TODAY.isoformat(),
                             f"a{foreign}-planned_end_on": TODAY.isoformat()}).status_code == 404


def test_the_list_shows_next_assessment_last_on_site_and_blocking_count(client, login_as,
                                                                         tenant_a, manager):
    _cab, acc = granted(tenant_a, on=TODAY - relativedelta(months=20))
    held = plan(tenant_a, acc.id, "surveillance", TODAY - relativedelta(months=8))
    set_status(tenant_a, held, "closed")
    plan(tenant_a, acc.id, "surveillance", TODAY - relativedelta(months=8) + relativedelta(months=26))
    _cab, quiet = cal_acc(tenant_a, "Quiet Labs Ltd")
    login_as(manager)
    page = client.get("/alpha/programme/")
    body = page.get_data(as_text=True)
    m = re.search(rf'<tr data-accreditation="{acc.id}">(.*?)</tr>', body, re.S)
    cells = " ".join(re.sub(r"<[^>]+>", " ", m.group(1)).split())
    last = TODAY - relativedelta(months=8)
    assert programme.fmt(last) in cells  # last on-site
    assert programme.fmt(last + relativedelta(months=26)) in cells  # next
    blocking = re.search(r'data-testid="blocking">(.*?)</td>', m.group(1), re.S).group(1)
    assert re.sub(r"<[^>]+>", "", blocking).strip() == "1"
    assert "nothing planned" in text(page) and "Quiet Labs Ltd" in text(page)
    only = client.get("/alpha/programme/?problems=1")
    assert "Quiet Labs Ltd" not in text(only) and "Precision Metrology Ltd" in text(only)


def test_the_list_pages_in_the_database(client, login_as, tenant_a, manager, monkeypatch):
    from accreditor.assessments import programme_views

    monkeypatch.setattr(programme_views, "PAGE_SIZE", 2)
    for name in ("Alpha Labs Ltd", "Beta Labs Ltd", "Gamma Labs Ltd"):
        cal_acc(tenant_a, name)
    login_as(manager)
    first, second = text(client.get("/alpha/programme/")), text(client.get(
        "/alpha/programme/?page=2"))
    assert "Alpha Labs" in first and "Beta Labs" in first and "Gamma Labs" not in first
    assert "Gamma Labs" in second and "Alpha Labs" not in second


def test_a_past_visit_never_held_is_not_shown_as_next(client, login_as, tenant_a, manager):
    _cab, acc = granted(tenant_a, on=TODAY - relativedelta(months=20))
    plan(tenant_a, acc.id, "surveillance", TODAY - relativedelta(months=2))  # stale draft
    plan(tenant_a, acc.id, "surveillance", TODAY + relativedelta(months=3))
    login_as(manager)
    body = client.get("/alpha/programme/").get_data(as_text=True)
    row = re.search(rf'<tr data-accreditation="{acc.id}">(.*?)</tr>', body, re.S).group(1)
    cells = " ".join(re.sub(r"<[^>]+>", " ", row).split())
    assert programme.fmt(TODAY + relativedelta(months=3)) in cells
    assert programme.fmt(TODAY - relativedelta(months=2)) not in cells


# -- coverage -----------------------------------------------------------------------------------

MS = "ISO 9001:2015"


def ms_setup(tenant):
    """An MS CB with two offices and four lines: IAF 28+34 (construction, 28 critical), 33
    (services, critical), 29 (services), 17 (mechanical)."""
    cab = create_cab(tenant, "Certify Ltd", locations=(("A", "Head office"), ("B", "Branch")))
    acc = create_accreditation(tenant, cab, "17021-1", lines=[
        {"standard": MS, "iaf_codes": "28; 34"}, {"standard": MS, "iaf_codes": "33"},
        {"standard": MS, "iaf_codes": "29"}, {"standard": MS, "iaf_codes": "17"}])
    with tenant_scope(tenant):
        ids = list(db.session.execute(select(ScopeItem.id).where(
            ScopeItem.accreditation_id == acc.id).order_by(ScopeItem.position)).scalars())
    return cab, acc, ids


def test_coverage_lists_what_the_cycle_leaves_uncovered(client, login_as, tenant_a, manager):
    _cab, acc, ids = ms_setup(tenant_a)
    one = plan(tenant_a, acc.id, "initial", TODAY + timedelta(days=30))
    two = plan(tenant_a, acc.id, "surveillance", TODAY + timedelta(days=90), mode="remote")
    with tenant_scope(tenant_a):
        a1, a2 = (db.session.execute(select(Assessment).where(Assessment.id == i)).scalar_one()
                  for i in (one, two))
        services.set_sample(a1, [ids[0]])
        services.set_sample(a2, [ids[3]], location_codes=["B"])  # remote: B is not visited
        commit()
        cov = programme.coverage(load_acc(tenant_a, acc.id))
    assert [i.id for i in cov.uncovered_items] == [ids[1], ids[2]]
    assert [loc.code for loc in cov.unvisited_locations] == ["B"]
    assert [(c.standard, c.code) for c in cov.uncovered_critical_codes] == [(MS, "33")]
    covered = {c.code: c.covered_by for c in cov.critical_codes}
    assert covered["28"] == [one]
    assert {c.cluster for c in cov.uncovered_clusters} == {"Services"}
    assert {c.cluster: c.covered_by for c in cov.clusters}["Mechanical"] == [two]
    rows = {r.assessment.id: r for r in cov.assessments}
    assert rows[one].critical == {(MS, "28")} and rows[two].locations == ["B"]

    login_as(manager)
    page = client.get(url(acc.id, "/coverage"))
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    uncovered = re.search(r'data-testid="uncovered-critical">(.*?)</div>', body, re.S).group(1)
    assert "IAF 33" in uncovered and "IAF 28" not in uncovered
    assert "B" in re.search(r'data-testid="unvisited-locations">(.*?)</div>', body, re.S).group(1)
    assert "2 of 4 lines are not sampled" in text(page)
    only = client.get(url(acc.id, "/coverage?uncovered=1"))
    shown = re.findall(r'<tr data-item="(\d+)"', only.get_data(as_text=True))
    assert shown == [str(ids[1]), str(ids[2])]


def test_the_coverage_of_an_ms_cb_links_to_its_witness_matrix_and_a_labs_does_not(
        client, login_as, tenant_a, manager):
    _cab, ms, _ids = ms_setup(tenant_a)
    _lab, lab = cal_acc(tenant_a, "Two Site Labs")
    login_as(manager)
    page = client.get(url(ms.id, "/coverage"))
    link = re.search(r'<a href="([^"]+)" data-testid="witness-matrix-link">', page.get_data(
        as_text=True))
    assert link and link.group(1) == f"/alpha/witnesses/accreditation/{ms.id}"
    matrix = client.get(link.group(1))
    assert matrix.status_code == 200 and "Certify Ltd" in text(matrix)
    assert 'data-testid="witness-matrix-link"' not in client.get(
        url(lab.id, "/coverage")).get_data(as_text=True)


def test_coverage_uses_the_tenants_own_clusters_and_critical_flags(tenant_a):
    from accreditor.refdata import services as refdata
    from accreditor.refdata.models import TermKind

    _cab, acc, ids = ms_setup(tenant_a)
    with tenant_scope(tenant_a):
        refdata.set_term_grouping(TermKind.iaf_code, "17", group="Metals", is_critical=True)
        commit()
        cov = programme.coverage(load_acc(tenant_a, acc.id))
    assert ("Metals" in {c.cluster for c in cov.clusters}
            and "17" in {c.code for c in cov.uncovered_critical_codes})


def test_coverage_of_a_lab_names_the_locations_its_lines_use(tenant_a):
    cab = create_cab(tenant_a, "Two Site Labs", locations=(("A", "Main lab"), ("B", "Annex"),
                                                          ("C", "Other business")))
    acc = create_accreditation(tenant_a, cab, "17025-C", lines=[CAL_LINE, MASS_LINE_B])
    with tenant_scope(tenant_a):
        cov = programme.coverage(load_acc(tenant_a, acc.id))
    assert [loc.code for loc in cov.locations] == ["A", "B"]  # C serves another accreditation
    assert not cov.is_ms and cov.clusters == []


def grow(tenant, acc_id: int, n: int, raw: dict, sample_into: list[int]) -> None:
    """Add ``n`` accredited lines in bulk, each sampled by the given assessments."""
    with tenant_scope(tenant):
        acc = load_acc(tenant, acc_id)
        start = db.session.execute(select(func.count()).select_from(ScopeItem).where(
            ScopeItem.accreditation_id == acc_id)).scalar_one()
        items = [ScopeItem(cab_id=acc.cab_id, accreditation_id=acc_id, position=start + i + 1,
                           status="accredited", fields=dict(raw), summary=f"line {start + i + 1}")
                 for i in range(n)]
        db.session.add_all(items)
        db.session.flush()
        db.session.add_all([AssessmentItem(cab_id=acc.cab_id, assessment_id=a, scope_item_id=i.id)
                            for a in sample_into for i in items[::2]])
        commit()


# Beyond the sign-in work of every tenant page (4): the accreditation with CAB and programme,
# the programme's scope type, the assessments, their samples, the lines, the locations, and for
# MS CBs the IAF and food-chain lists.
COVERAGE_BOUND = 12


@pytest.mark.parametrize("raw", [CAL_LINE, {"standard": MS, "iaf_codes": ["28", "33"]}],
                         ids=["calibration", "ms"])
def test_the_coverage_page_runs_as_many_statements_for_2000_lines_as_for_10(
        client, login_as, tenant_a, manager, assert_max_queries, raw):
    programme_code = "17025-C" if "discipline" in raw else "17021-1"
    cab = create_cab(tenant_a, "Big Scope Ltd", locations=(("A", "Head office"),))
    acc = create_accreditation(tenant_a, cab, programme_code)
    with tenant_scope(tenant_a):
        a = load_acc(tenant_a, acc.id)
        a.status, a.cycle_start_on = "accredited", TODAY - relativedelta(months=3)
        a.initial_grant_on, a.cycle_end_on = a.cycle_start_on, a.cycle_start_on + relativedelta(years=5)
        commit()
    visits = [plan(tenant_a, acc.id, t, TODAY + relativedelta(months=m))
              for t, m in (("surveillance", 9), ("surveillance", 21), ("reassessment", 50))]
    login_as(manager)

    def measure(suffix):
        client.get(url(acc.id, suffix))
        with assert_max_queries(COVERAGE_BOUND) as q:
            resp = client.get(url(acc.id, suffix))
        assert resp.status_code == 200
        return q.count

    grow(tenant_a, acc.id, 10, raw, visits[:2])
    small = {s: measure(s) for s in ("/coverage", "/coverage?uncovered=1&page=2", "")}
    grow(tenant_a, acc.id, 1990, raw, visits[:2])
    large = {s: measure(s) for s in ("/coverage", "/coverage?uncovered=1&page=2", "")}
    print(f"QUERYCOUNT programme {programme_code} {small} {large}")
    assert small == large


def test_the_list_and_the_programme_page_run_a_fixed_number_of_statements(
        client, login_as, tenant_a, manager, count_queries):
    def build(n):
        for k in range(n):
            _cab, acc = cal_acc(tenant_a, f"Lab {n}-{k}", lines=(CAL_LINE,))
            for m in (1, 13, 26):
                plan(tenant_a, acc.id, "surveillance", TODAY + relativedelta(months=m))
        return acc

    def measure(path):
        client.get(path)
        with count_queries() as q:
            resp = client.get(path)
        assert resp.status_code == 200
        return q.count

    login_as(manager)
    acc = build(2)
    small = (measure("/alpha/programme/"), measure(url(acc.id)))
    acc2 = build(20)
    for m in range(40, 60, 2):
        plan(tenant_a, acc2.id, "special", TODAY + relativedelta(months=m))
    large = (measure("/alpha/programme/"), measure(url(acc2.id)))
    print(f"QUERYCOUNT programme list/show {small} {large}")
    assert small == large


def test_approving_the_plan_of_a_visit_25_months_after_the_last_on_site_is_refused(
        tenant_a, accredited):
    """The blocking warning is not only shown: approve_plan refuses, naming rule 9."""
    last_day = TODAY + timedelta(days=30)
    plan(tenant_a, accredited.id, "surveillance", last_day)
    late = plan(tenant_a, accredited.id, "surveillance", last_day + relativedelta(months=25))
    with tenant_scope(tenant_a):
        a = db.session.execute(select(Assessment).where(Assessment.id == late)).scalar_one()
        a.status = "team_confirmed"
        a.risk_consideration = "Low risk: stable scope"
        services.set_sample(a, services.sampleable_ids(a))
        commit()
        with pytest.raises(Conflict) as refused:
            services.approve_plan(a)
    assert refused.value.code == "programme_blocked"
    assert "Rule 9" in str(refused.value) and "at most 24 months" in str(refused.value)
