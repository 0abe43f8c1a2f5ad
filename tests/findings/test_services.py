"""The findings rules at the service level: grades copied, rule 6, rule 14 (the grade's or the
tenant's days), rule 15, review rounds and the mails they send, closure by grade, critical
findings, the closing gate and rule 13."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from accreditor.assessments import services as assessment_services
from accreditor.core.db import commit
from accreditor.core.errors import Conflict, ValidationFailed
from accreditor.core.tenancy import tenant_scope
from accreditor.documents.models import Document
from accreditor.extensions import db
from accreditor.findings import services
from accreditor.findings.models import (
    FindingGrade,
    FindingResponse,
    SanctionProposal,
)
from accreditor.tenants import services as tenant_services
from accreditor.tenants.models import TenantPolicy
from tests.conftest import extract_link
from tests.findings.conftest import (
    STANDARD,
    load_accreditation,
    load_assessment,
    load_finding,
)


def test_the_default_scheme_is_copied_once_with_its_behaviour(world):
    with tenant_scope(world.tenant):
        grades = services.active_grades()
        again = services.active_grades()
        assert [g.key for g in grades] == ["major", "minor", "observation"]
        assert [g.id for g in again] == [g.id for g in grades]
        minor = grades[1]
        assert (minor.severity, minor.closure_requires_evidence, minor.verify_at_next_visit) == (
            "minor", False, True)


def test_changing_the_scheme_never_rewrites_existing_findings(world, tenant_a):
    f = world.raise_finding("major")
    with tenant_scope(tenant_a):
        tenant_services.update_policy(TenantPolicy.current(), grading_scheme="ilac_g20")
        commit()
        assert [g.key for g in services.active_grades()] == ["cat1", "cat2", "cat3", "cat4"]
        old = db.session.execute(select(FindingGrade).where(FindingGrade.key == "major")
                                 ).scalar_one()
        assert not old.is_active
    f = world.load(f.id)
    assert (f.grade_label, f.severity) == ("Major nonconformity", "major")


def test_a_grade_change_does_not_touch_recorded_findings(world, tenant_a):
    f = world.raise_finding("major")
    with tenant_scope(tenant_a):
        grade = db.session.execute(select(FindingGrade).where(FindingGrade.key == "major")
                                   ).scalar_one()
        services.update_grade(grade, label="Serious", response_due_days=14)
        commit()
    f = world.load(f.id)
    assert (f.grade_label, f.response_due_days) == ("Major nonconformity", 30)


def test_an_experts_finding_is_a_draft_and_blocks_the_report_until_confirmed(world, tenant_a):
    f = world.raise_finding("minor", by=world.expert)
    assert f.status == "draft"
    with tenant_scope(tenant_a):
        a = load_assessment(world.assessment.id)
        with pytest.raises(Conflict, match="rule 6") as exc:
            services.issue_findings(a)
        assert exc.value.code == "unconfirmed_findings"
        services.confirm_finding(load_finding(tenant_a, f.id))
        commit()
    assert world.load(f.id).status == "recorded"


def test_an_observer_cannot_raise_a_finding(world):
    with pytest.raises(ValidationFailed, match="member of the team"):
        world.raise_finding("minor", by=world.observer)


def test_a_finding_needs_a_clause_of_the_standard_or_a_named_document(world):
    with pytest.raises(ValidationFailed) as exc:
        world.raise_finding(clause="99.9")
    assert exc.value.field == "clause"
    with pytest.raises(ValidationFailed) as exc:
        world.raise_finding(standard="other", other_document="", clause="2.1")
    assert exc.value.field == "other_document"
    f = world.raise_finding(standard="other", other_document="IAF MD 5:2019", clause="2.1")
    assert (f.standard, f.clause) == ("IAF MD 5:2019", "2.1")


def test_issuing_sets_due_dates_from_the_grade_and_closes_observations(world, tenant_a):
    major = world.raise_finding("major")
    note = world.raise_finding("observation")
    today = date(2026, 12, 3)
    world.issue(today=today)
    major, note = world.load(major.id), world.load(note.id)
    assert (major.status, major.response_due_on, major.evidence_due_on) == (
        "open", today + timedelta(days=30), today + timedelta(days=90))
    assert (note.status, note.closure_basis) == ("closed", "no_response_required")


def use_ilac_g20(tenant) -> None:
    """Switch the tenant to ILAC G20's categories (cat1 is critical: 7 and 30 days)."""
    with tenant_scope(tenant):
        tenant_services.update_policy(TenantPolicy.current(), grading_scheme="ilac_g20")
        commit()


def test_a_category_1_finding_is_due_in_7_days_with_evidence_in_30(world, tenant_a):
    use_ilac_g20(tenant_a)
    f = world.raise_finding("cat1")
    today = date(2026, 12, 3)
    world.issue(today=today)
    f = world.load(f.id)
    assert (f.status, f.response_due_on, f.evidence_due_on) == (
        "open", today + timedelta(days=7), today + timedelta(days=30))


def test_a_major_without_its_own_days_takes_the_tenants_default_days(world, tenant_a):
    with tenant_scope(tenant_a):
        tenant_services.update_policy(TenantPolicy.current(), response_due_days=21,
                                      evidence_due_days=60)
        commit()
    f = world.raise_finding("major")
    today = date(2026, 12, 3)
    world.issue(today=today)
    f = world.load(f.id)
    assert (f.response_due_on, f.evidence_due_on) == (
        today + timedelta(days=21), today + timedelta(days=60))


def test_a_major_response_without_cause_analysis_is_refused_and_nothing_saved(world, tenant_a):
    f = world.raise_finding("major")
    world.issue()
    with pytest.raises(ValidationFailed) as exc:
        world.respond(f, cause_analysis="  ")
    assert exc.value.field == "cause_analysis"
    db.session.rollback()
    with tenant_scope(tenant_a):
        assert db.session.execute(select(func.count(FindingResponse.id))).scalar_one() == 0
        assert db.session.execute(select(func.count(Document.id))).scalar_one() == 0
    assert world.load(f.id).status == "open"


def test_the_lead_and_assessors_are_told_the_cab_has_answered_with_a_link_to_the_finding(
        world, outbox):
    f = world.raise_finding("major")
    world.issue()
    world.respond(f)
    subject = f"Finding {f.reference}: the CAB has answered"
    said = (f"The CAB has sent answer 1 to finding {f.reference} (Major nonconformity, "
            f"{STANDARD} 6.4).")
    for reviewer in (world.lead, world.assessor):
        [msg] = [m for m in outbox(reviewer.email) if m.subject == subject]
        assert said in msg.text_body
        assert extract_link(msg.text_body, "/alpha/") == f"/alpha/findings/{f.id}"
        assert said in msg.html_body
        assert re.search(rf'<a href="https?://[^/"]+/alpha/findings/{f.id}">', msg.html_body)
    # Not the expert or observer of the team, nor anyone else.
    for other in (world.expert, world.observer, world.outsider, world.manager, world.cab_user):
        assert subject not in [m.subject for m in outbox(other.email)], other.email


def test_the_cab_is_told_each_review_outcome_with_the_reviewers_note(world, outbox):
    f = world.raise_finding("major")
    world.issue()
    world.respond(f)
    world.review(f, False, "The recall list omits the hired balances.")
    world.respond(f)
    world.review(f, True, "Evidence is convincing.")
    ref = f.reference
    mails = [m for m in outbox(world.cab_user.email) if m.subject.startswith(f"Finding {ref}:")]
    assert [m.subject for m in mails] == [f"Finding {ref}: your answer was not accepted",
                                          f"Finding {ref}: your answer was accepted"]
    rejected, accepted = mails
    assert f"Your answer to finding {ref} was not accepted. Please answer again." in \
        rejected.text_body
    assert f"Finding {ref} is closed." in accepted.text_body
    for msg, note in ((rejected, "The recall list omits the hired balances."),
                      (accepted, "Evidence is convincing.")):
        assert f"Reviewer's note: {note}" in msg.text_body
        assert note in msg.html_body
        assert extract_link(msg.text_body, "/alpha/") == f"/alpha/portal/findings/{f.id}"
        assert re.search(rf'<a href="https?://[^/"]+/alpha/portal/findings/{f.id}">',
                         msg.html_body)
    for staff in (world.lead, world.assessor, world.manager):
        assert not [m for m in outbox(staff.email) if "your answer" in m.subject]


def test_reject_then_accept_closes_with_the_whole_thread_kept(world, tenant_a):
    f = world.raise_finding("major")
    world.issue()
    world.respond(f)
    with pytest.raises(ValidationFailed):
        world.review(f, False)
    f = world.review(f, False, "The recall list does not cover hired equipment.")
    assert (f.status, f.round) == ("open", 1)
    world.respond(f, corrective_action="Recall system covering hired equipment.")
    f = world.review(f, True)
    assert (f.status, f.closure_basis, f.round) == ("closed", "evidence_accepted", 2)
    with tenant_scope(tenant_a):
        thread = services.responses_of(f)
        assert [(r.round, r.outcome) for r in thread] == [(1, "rejected"), (2, "accepted")]
        assert all(len(docs) == 1 for docs in services.evidence_by_response(thread).values())


def test_a_plan_for_a_major_awaits_evidence_but_closes_a_minor(world, tenant_a):
    major, minor = world.raise_finding("major"), world.raise_finding("minor")
    world.issue()
    world.respond(major, response_type="plan_only", files=[])
    world.respond(minor, response_type="plan_only", files=[], correction=None,
            cause_analysis=None)
    assert world.review(major, True).status == "plan_accepted"
    minor = world.review(minor, True)
    assert (minor.status, minor.closure_basis, minor.verify_at_next_visit) == (
        "closed", "plan_accepted", True)
    with pytest.raises(ValidationFailed) as exc:
        world.respond(major, response_type="plan_only", files=[])
    assert exc.value.field == "response_type"


def test_evidence_types_need_a_file(world):
    f = world.raise_finding("major")
    world.issue()
    with pytest.raises(ValidationFailed) as exc:
        world.respond(f, files=[])
    assert exc.value.field == "files"


def test_a_critical_finding_proposes_a_suspension_of_its_lines_from_the_assessment_date(
        world, tenant_a):
    with tenant_scope(tenant_a):
        tenant_services.update_policy(TenantPolicy.current(), grading_scheme="ilac_g20")
        commit()
    f = world.raise_finding("cat1")
    with tenant_scope(tenant_a):
        p = db.session.execute(select(SanctionProposal)).scalar_one()
        assert (p.kind, p.source, p.scope_item_ids, p.effective_on, p.status) == (
            "suspension", "critical_finding", world.item_ids[:1],
            world.assessment.planned_start_on, "proposed")
        services.withdraw_finding(load_finding(tenant_a, f.id), "Raised on the wrong CAB.")
        commit()
        assert db.session.execute(select(SanctionProposal.status)).scalar_one() == "dismissed"


def test_an_assessment_closes_only_when_findings_are_closed_or_handed_over(world, tenant_a):
    f = world.raise_finding("major")
    world.issue()
    with tenant_scope(tenant_a):
        a = load_assessment(world.assessment.id)
        with pytest.raises(Conflict) as exc:
            assessment_services.close_assessment(a)
        assert exc.value.code == "open_findings"
        assert [x.id for x in services.open_blocking_findings(a)] == [f.id]
        follow = assessment_services.create_assessment(
            load_accreditation(a.accreditation_id), "follow_up", "onsite", date.today() + timedelta(days=30),
            date.today() + timedelta(days=30), ["A"])
        services.hand_over(load_finding(tenant_a, f.id), follow.id, "Verify on site.")
        assessment_services.close_assessment(a)
        commit()
        assert load_assessment(a.id).status == "closed"
        # still open for the grant decision (rule 13)
        acc = load_accreditation(a.accreditation_id)
        assert [x.id for x in services.open_blocking_findings(acc)] == [f.id]


def test_every_issued_nonconformity_has_its_due_dates_in_the_database(world, tenant_a):
    f = world.raise_finding("major")
    world.issue()
    with tenant_scope(tenant_a):
        row = load_finding(tenant_a, f.id)
        row.evidence_due_on = None
        with pytest.raises(IntegrityError, match="issued_nc_has_due_dates"):
            db.session.flush()
        db.session.rollback()
    assert world.load(f.id).evidence_due_on is not None


# -- after review: the edges of the state machine ------------------------------------------------


def test_a_critical_finding_must_name_its_lines(world, tenant_a):
    with tenant_scope(tenant_a):
        tenant_services.update_policy(TenantPolicy.current(), grading_scheme="ilac_g20")
        commit()
    with pytest.raises(ValidationFailed) as exc:
        world.raise_finding("cat1", item_ids=[])
    assert exc.value.field == "item_ids"


def test_downgrading_then_upgrading_a_critical_finding_brings_its_proposal_back(world, tenant_a):
    with tenant_scope(tenant_a):
        tenant_services.update_policy(TenantPolicy.current(), grading_scheme="ilac_g20")
        commit()
    f = world.raise_finding("cat1")
    edit = {"standard": STANDARD, "clause": "6.4", "statement": f.statement,
            "objective_evidence": f.objective_evidence, "item_ids": world.item_ids[:1],
            "location_codes": ["A"]}
    for key, status in (("cat2", "dismissed"), ("cat1", "proposed")):
        with tenant_scope(tenant_a):
            services.update_finding(load_finding(tenant_a, f.id), grade_id=world.grade(key),
                                    **edit)
            commit()
            assert db.session.execute(select(SanctionProposal.status)).scalar_one() == status


def test_a_rejected_evidence_round_after_an_accepted_plan_keeps_the_plan(world, tenant_a):
    f = world.raise_finding("major")
    world.issue()
    world.respond(f, response_type="plan_only", files=[])
    assert world.review(f, True).status == "plan_accepted"
    world.respond(f)
    f = world.review(f, False, "The training record is unsigned.")
    assert f.status == "plan_accepted"
    with pytest.raises(ValidationFailed) as exc:  # a plan again is refused: evidence is due
        world.respond(f, response_type="plan_only", files=[])
    assert exc.value.field == "response_type"


def test_a_grant_counts_minors_closed_on_a_plan_alone(world, tenant_a):
    minor = world.raise_finding("minor")
    world.issue()
    world.respond(minor, response_type="plan_only", files=[])
    assert world.review(minor, True).status == "closed"
    with tenant_scope(tenant_a):
        acc = load_accreditation(world.acc.id)
        assert services.open_blocking_findings(acc) == []
        assert [f.id for f in services.open_blocking_findings(acc, for_grant=True)] == [minor.id]


def test_accepted_plans_and_unissued_nonconformities_block_a_grant_observations_never(
        world, tenant_a):
    planned = world.raise_finding("major")
    issued_note = world.raise_finding("observation", clause="7.7")
    world.issue()
    world.respond(planned, response_type="plan_only", files=[])
    assert world.review(planned, True).status == "plan_accepted"
    assert world.load(issued_note.id).status == "closed"
    with tenant_scope(tenant_a):  # back in progress: the team records more (test setup)
        load_assessment(world.assessment.id).status = "in_progress"
        commit()
    recorded = world.raise_finding("minor", clause="7.5")
    recorded_note = world.raise_finding("observation", clause="7.6")
    assert [world.load(x.id).status for x in (recorded, recorded_note)] == ["recorded",
                                                                             "recorded"]
    expected = [planned.id, recorded.id]
    with tenant_scope(tenant_a):
        acc = load_accreditation(world.acc.id)
        assert [x.id for x in services.open_blocking_findings(acc)] == expected
        assert [x.id for x in services.open_blocking_findings(acc, for_grant=True)] == expected
        a = load_assessment(world.assessment.id)
        assert [x.id for x in services.open_blocking_findings(a)] == expected


def _follow_up(world, tenant_a, finding):
    with tenant_scope(tenant_a):
        follow = assessment_services.create_assessment(
            load_accreditation(world.acc.id), "follow_up", "onsite",
            date.today() + timedelta(days=30), date.today() + timedelta(days=30), ["A"])
        services.hand_over(load_finding(tenant_a, finding.id), follow.id, "Verify on site.")
        commit()
        return follow


def test_a_handed_over_finding_holds_the_follow_up_and_cannot_be_orphaned(world, tenant_a):
    f = world.raise_finding("major")
    world.issue()
    follow = _follow_up(world, tenant_a, f)
    with tenant_scope(tenant_a):
        follow = load_assessment(follow.id)
        assert [x.id for x in services.unhanded_open(follow)] == [f.id]
        assert [x.id for x in services.handed_to(follow)] == [f.id]
        with pytest.raises(Conflict) as exc:
            assessment_services.cancel_assessment(follow, "No longer needed.")
        assert exc.value.code == "findings_handed_to"
        assert load_assessment(follow.id).status == "draft"
