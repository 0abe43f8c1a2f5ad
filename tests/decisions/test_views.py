"""The decision pages: the queue, recording a decision through the form (each refusal with its
rule, a 409 and nothing saved; a field's problem beside it with a 400), the decision and
schedule pages, the CAB's view on its portal, 404 for CAB users and other tenants, and bounded
statement counts."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from accreditor.assessments.models import InterestDeclaration
from accreditor.auth.models import Membership
from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.decisions.models import Decision, DecisionMaker, ScheduleVersion
from accreditor.extensions import db
from accreditor.scopes.models import ScopeItem
from accreditor.tenants import services as tenant_services
from accreditor.tenants.models import TenantPolicy
from tests.assessments.assessment_helpers import cal_setup, new_assessment
from tests.auth.helpers import field_error, flashes, text
from tests.decisions.conftest import TODAY, decide, reported
from tests.factories import create_member
from tests.findings.conftest import build_world, load_assessment

RATIONALE = "The report shows the laboratory keeps meeting 17025; no open nonconformity."


def durl(world, path: str = "/") -> str:
    return f"/{world.tenant.slug}/decisions{path}"


def form_url(world, *, assessment: bool = True) -> str:
    url = durl(world, f"/new?accreditation_id={world.acc.id}")
    return url + (f"&assessment_id={world.assessment.id}" if assessment else "")


def form_data(world, maker, **kw) -> dict:
    data = {"kind": "maintain", "effective_on": TODAY.isoformat(), "rationale": RATIONALE,
            "maker_ids": [str(maker.id)], "input_ids": [str(world.assessment.id)],
            "suspension_type": "", "extent": ""}
    data.update(kw)
    return data


def count(model, tenant, *conds) -> int:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.execute(select(func.count(model.id)).where(*conds)).scalar_one()


def make_decision_maker(tenant, user) -> None:
    with tenant_scope(tenant):
        m = db.session.execute(select(Membership).where(
            Membership.user_id == user.id)).scalar_one()
        m.set_roles([Role.assessor, Role.decision_maker])
        commit()


def section(resp, testid: str) -> str:
    """The text inside the element marked ``data-testid`` (tags removed)."""
    body = text(resp)
    m = re.search(rf'<(\w+)[^>]*data-testid="{testid}"[^>]*>', body)
    assert m, f"no {testid} on the page"
    tag, depth, pos = m.group(1), 1, m.end()
    for inner in re.finditer(rf"<(/?){tag}\b[^>]*>", body[pos:]):
        depth += -1 if inner.group(1) else 1
        if depth == 0:
            inside = body[pos:pos + inner.start()]
            return " ".join(re.sub(r"<[^>]+>", " ", inside).split())
    raise AssertionError(f"{testid} is not closed")


def suspended(world, decider):
    """A partial suspension of the world's line: schedule issue 1."""
    return decide(world, decider, "suspend", input_ids=[], suspension_type="imposed",
                  extent="partial", item_ids=world.item_ids[:1],
                  rationale="Calibration of balances not assured; line suspended.")


# -- the queue ----------------------------------------------------------------------------------


def test_the_queue_lists_a_reported_assessment_until_a_decision_answers_it(
        client, login_as, world, decider):
    reported(world)
    login_as(decider)
    resp = client.get(durl(world))
    assert resp.status_code == 200
    queue = section(resp, "queue")
    assert "Precision Metrology Ltd" in queue and "Maintain" in queue
    assert "Surveillance" in queue
    assert f"assessment_id={world.assessment.id}" in text(resp)
    assert "Decide" in queue

    decide(world, decider, "maintain", assessment_id=world.assessment.id)
    resp = client.get(durl(world))
    assert "No report is waiting for a decision." in text(resp)
    assert "Maintain" in section(resp, "latest")


def test_the_queue_counts_the_open_nonconformities(client, login_as, world, decider):
    world.raise_finding("major")
    world.issue()
    reported(world)
    login_as(decider)
    resp = client.get(durl(world))
    assert section(resp, "open-findings") == "1"


def test_the_decisions_item_is_in_the_nav_for_readers_only(client, login_as, world, decider):
    login_as(decider)
    assert 'data-testid="nav-decisions"' in text(client.get(f"/{world.tenant.slug}/"))
    login_as(world.manager)
    assert client.get(durl(world)).status_code == 200
    login_as(world.outsider)
    assert 'data-testid="nav-decisions"' not in text(client.get(f"/{world.tenant.slug}/"))
    assert client.get(durl(world)).status_code == 403


# -- recording ----------------------------------------------------------------------------------


def test_the_form_is_prefilled_from_the_recommendation_with_the_inputs_beside_it(
        client, login_as, world, decider):
    reported(world)
    login_as(decider)
    resp = client.get(form_url(world))
    assert resp.status_code == 200
    body = text(resp)
    assert re.search(r'<option selected value="maintain">', body)
    assert re.search(rf'name="maker_ids" value="{decider.id}"[^>]*checked', body)
    assert re.search(rf'name="input_ids" value="{world.assessment.id}"[^>]*checked', body)
    inputs = section(resp, "decision-inputs")
    assert "Precision Metrology Ltd" in inputs
    assert "Lena Lead (Lead assessor)" in inputs and "Olly Observer" in inputs
    assert "meets the requirements for the sampled scope" in inputs
    assert "Maintain" in section(resp, "recommendation")


def test_the_form_preselects_the_requested_lines_for_a_grant(client, login_as, applicant,
                                                             decider):
    reported(applicant, recommendation="grant")
    login_as(decider)
    body = text(client.get(form_url(applicant)))
    assert re.search(r'<option selected value="grant">', body)
    assert re.search(rf'name="item_ids" value="{applicant.item_ids[0]}"[^>]*checked', body)


def test_a_decision_maker_records_a_maintain_decision(client, login_as, world, decider):
    reported(world)
    login_as(decider)
    resp = client.post(form_url(world), data=form_data(world, decider))
    assert resp.status_code == 302
    with tenant_scope(world.tenant):
        d = db.session.execute(select(Decision)).scalar_one()
        assert (d.kind, d.assessment_id, d.recorded_by_id) == ("maintain", world.assessment.id,
                                                               decider.id)
        assert db.session.execute(select(DecisionMaker.user_id)).scalars().all() == [decider.id]
    assert count(AuditEvent, world.tenant, AuditEvent.action == "decision.recorded") == 1
    assert resp.headers["Location"].endswith(durl(world, f"/{d.id}"))
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200
    assert "Decision recorded." in flashes(page)
    assert section(page, "rationale") == RATIONALE
    assert section(page, "makers") == "Dora Decider"
    assert f"Assessment {world.assessment.id}" in section(page, "inputs")
    assert "none: the scope did not change" in section(page, "schedule")


def test_a_team_member_who_is_a_decision_maker_is_refused_with_every_rule(
        client, login_as, world, decider):
    reported(world)
    make_decision_maker(world.tenant, world.lead)
    with tenant_scope(world.tenant):
        db.session.add(InterestDeclaration(
            user_id=world.lead.id, kind="consultancy", organisation="Another lab",
            started_on=TODAY - timedelta(days=400)))
        commit()
    login_as(world.lead)  # recording his own decision on the assessment he led
    resp = client.post(form_url(world), data=form_data(world, world.lead))
    assert resp.status_code == 409
    refusals = section(resp, "refusals")
    assert refusals.startswith("Nothing was recorded")
    assert "Rule 1 — Refused (rule 1): Lena Lead was on the team" in refusals
    assert "Rule 2 — Refused (rule 2): Lena Lead has a recorded consultancy" in refusals
    assert text(resp).index('data-testid="refusals"') < text(resp).index('data-testid="decision-form"')
    assert count(Decision, world.tenant) == 0
    assert count(AuditEvent, world.tenant, AuditEvent.action == "decision.recorded") == 0
    # The form keeps what was typed.
    assert RATIONALE in text(resp)


def test_a_decision_without_rationale_is_refused_beside_the_field(client, login_as, world,
                                                                  decider):
    reported(world)
    login_as(decider)
    resp = client.post(form_url(world), data=form_data(world, decider, rationale="  "))
    assert resp.status_code == 400
    assert field_error(resp, "rationale") == "Give the rationale for the decision."
    assert count(Decision, world.tenant) == 0


def test_a_partial_suspension_without_a_type_is_refused_beside_the_field(
        client, login_as, world, decider):
    login_as(decider)
    resp = client.post(form_url(world, assessment=False), data=form_data(
        world, decider, kind="suspend", input_ids=[], extent="partial"))
    assert resp.status_code == 400
    assert "imposed, voluntary or financial" in field_error(resp, "suspension_type")


def test_a_manager_records_a_suspension_that_issues_a_schedule(client, login_as, world,
                                                               decider):
    login_as(world.manager)
    resp = client.post(form_url(world, assessment=False), data=form_data(
        world, decider, kind="suspend", input_ids=[], suspension_type="imposed",
        extent="partial", item_ids=[str(world.item_ids[0])]))
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"])
    assert "schedule issue 1 produced" in " ".join(flashes(page))
    assert "Issue 1 of" in section(page, "schedule")
    assert "suspended" in section(page, "lines")
    with tenant_scope(world.tenant):
        assert db.session.execute(select(Decision.recorded_by_id)).scalar_one() \
            == world.manager.id


def test_an_assessor_cannot_open_the_form(client, login_as, world, decider):
    reported(world)
    login_as(world.outsider)
    assert client.get(form_url(world)).status_code == 403
    assert client.post(form_url(world), data=form_data(world, decider)).status_code == 403
    assert count(Decision, world.tenant) == 0


def test_a_cab_user_gets_404_on_the_staff_pages(client, login_as, world, decider):
    reported(world)
    d = suspended(world, decider)
    with tenant_scope(world.tenant):
        version_id = db.session.execute(select(ScheduleVersion.id)).scalar_one()
    login_as(world.cab_user)
    for url in (durl(world), form_url(world), durl(world, f"/{d.id}"),
                durl(world, f"/schedules/{version_id}")):
        assert client.get(url).status_code == 404, url
    assert client.post(form_url(world), data=form_data(world, decider)).status_code == 404


def test_another_tenants_decision_and_schedule_are_not_found(client, login_as, world, decider,
                                                             tenant_b):
    other = build_world(tenant_b, prefix="b-")
    b_decider = create_member(tenant_b, "decider@bravo.example.org", [Role.decision_maker],
                              name="Bea Decider")
    d = suspended(other, b_decider)
    with tenant_scope(tenant_b):
        version_id = db.session.execute(select(ScheduleVersion.id)).scalar_one()
    login_as(decider)
    for url in (durl(world, f"/{d.id}"), durl(world, f"/schedules/{version_id}"),
                durl(world, f"/new?accreditation_id={other.acc.id}"),
                durl(world, f"/new?accreditation_id={world.acc.id}"
                            f"&assessment_id={other.assessment.id}")):
        assert client.get(url).status_code == 404, url
    # The portal route too, for the other tenant's CAB user on our slug: not a member here.
    login_as(other.cab_user)
    assert client.get(f"/{world.tenant.slug}/portal/decisions/schedules/{version_id}"
                      ).status_code == 404


# -- the CAB's view -----------------------------------------------------------------------------


def test_the_cab_reads_its_decisions_and_schedule_issues_on_its_accreditation(
        client, login_as, world, decider):
    suspended(world, decider)
    login_as(world.cab_user)
    resp = client.get(f"/{world.tenant.slug}/portal/accreditations/{world.acc.id}")
    assert resp.status_code == 200
    decisions = section(resp, "decisions")
    assert "Suspend" in decisions and TODAY.isoformat() in decisions
    assert "line suspended" in decisions
    schedules = section(resp, "schedules")
    assert "Issue 1" in schedules and "suspended" in schedules
    assert re.findall(r'data-testid="schedule-lines">(\d+)<', text(resp)) == ["1"]  # one line


def test_the_cab_opens_its_schedule_version_but_not_another_cabs(client, login_as, world,
                                                                 applicant, decider):
    suspended(world, decider)
    reported(applicant, recommendation="grant")
    decide(applicant, decider, "grant")
    with tenant_scope(world.tenant):
        own, others = (db.session.execute(select(ScheduleVersion.id).where(
            ScheduleVersion.cab_id == cab.id)).scalar_one() for cab in (world.cab, applicant.cab))
    login_as(world.cab_user)
    resp = client.get(f"/{world.tenant.slug}/portal/decisions/schedules/{own}")
    assert resp.status_code == 200
    page = section(resp, "schedule")
    assert "Precision Metrology Ltd" in page and "Suspended" in page
    assert "suspended" in section(resp, "schedule-lines")
    assert client.get(f"/{world.tenant.slug}/portal/decisions/schedules/{others}"
                      ).status_code == 404
    # Staff read it on their own URL; the portal's is the CAB's.
    login_as(decider)
    assert client.get(durl(world, f"/schedules/{own}")).status_code == 200
    assert client.get(f"/{world.tenant.slug}/portal/decisions/schedules/{own}"
                      ).status_code == 403


def test_the_staff_accreditation_page_lists_decisions_with_a_link_to_record_one(
        client, login_as, world, decider):
    d = suspended(world, decider)
    login_as(decider)
    resp = client.get(f"/{world.tenant.slug}/accreditations/{world.acc.id}")
    assert resp.status_code == 200
    assert durl(world, f"/{d.id}") in text(resp)
    assert "Issue 1" in section(resp, "schedules")
    assert "Record a decision" in text(resp)
    login_as(world.outsider)
    resp = client.get(f"/{world.tenant.slug}/accreditations/{world.acc.id}")
    assert "Suspend" in section(resp, "decisions")
    assert "Record a decision" not in text(resp)


# -- statement counts ---------------------------------------------------------------------------


def _reported_elsewhere(tenant, n: int) -> None:
    """``n`` more CABs, each with an assessment whose report is issued with a recommendation."""
    for i in range(n):
        _cab, acc, ids = cal_setup(tenant, legal_name=f"Queue Lab {i}")
        a = new_assessment(tenant, acc, sample=ids)
        with tenant_scope(tenant):
            row = load_assessment(a.id)
            row.status, row.recommendation = "report_issued", "maintain"
            commit()


def test_the_queue_takes_the_same_statements_for_1_or_10_reports(
        client, login_as, world, decider, count_queries):
    reported(world)
    decide(world, decider, "suspend", input_ids=[], suspension_type="voluntary",
           extent="full")
    login_as(decider)

    def measure(expected_rows: int) -> int:
        client.get(durl(world))
        with count_queries() as q:
            resp = client.get(durl(world))
        assert resp.status_code == 200
        assert text(resp).count('data-testid="queue-row"') == expected_rows
        return q.count

    small = measure(1)
    _reported_elsewhere(world.tenant, 9)
    big = measure(10)
    print(f"queue statements: 1 report {small}, 10 reports {big}")
    assert small == big <= 12


def test_the_decision_page_takes_the_same_statements_whatever_it_acts_on(
        client, login_as, world, decider, count_queries):
    reported(world)
    small_d = decide(world, decider, "maintain")
    with tenant_scope(world.tenant):
        for i in range(5):
            db.session.add(ScopeItem(cab_id=world.cab.id, accreditation_id=world.acc.id,
                                     position=10 + i, status="accredited",
                                     fields={"location": "A"}, summary=f"Line {i}"))
        tenant_services.update_policy(TenantPolicy.current(), decision_committee_size=2)
        commit()
    second = create_member(world.tenant, "second@alpha.example.org", [Role.decision_maker],
                           name="Sam Second")
    big_d = decide(world, decider, "suspend", input_ids=[world.assessment.id],
                   suspension_type="imposed", extent="full", maker_ids=[decider.id, second.id])
    login_as(decider)

    def measure(decision_id: int) -> int:
        client.get(durl(world, f"/{decision_id}"))
        with count_queries() as q:
            resp = client.get(durl(world, f"/{decision_id}"))
        assert resp.status_code == 200
        return q.count

    small, big = measure(small_d.id), measure(big_d.id)
    print(f"decision page statements: 0 lines {small}, 6 lines and 2 makers {big}")
    assert small == big <= 12


def test_the_form_takes_the_same_statements_whatever_the_accreditation_holds(
        client, login_as, world, decider, count_queries):
    reported(world)
    login_as(decider)

    def measure() -> int:
        client.get(form_url(world))
        with count_queries() as q:
            resp = client.get(form_url(world))
        assert resp.status_code == 200
        return q.count

    small = measure()
    with tenant_scope(world.tenant):
        load_assessment(world.assessment.id).status = "in_progress"
        commit()
    world.raise_finding("major")
    world.raise_finding("minor", clause="7.6")
    reported(world)
    with tenant_scope(world.tenant):
        for i in range(5):
            db.session.add(ScopeItem(cab_id=world.cab.id, accreditation_id=world.acc.id,
                                     position=10 + i, status="accredited",
                                     fields={"location": "A"}, summary=f"Line {i}"))
        commit()
    big = measure()
    print(f"decision form statements: small {small}, more lines and findings {big}")
    assert small == big <= 20


def test_a_decision_maker_records_only_a_decision_they_take(client, login_as, world, decider,
                                                            tenant_a):
    from tests.factories import create_member

    reported(world)
    other = create_member(tenant_a, "other-dm@alpha.example.org", [Role.decision_maker],
                          name="Otto Other")
    login_as(decider)
    resp = client.post(form_url(world), data=form_data(world, other))
    assert resp.status_code == 400
    assert "Record your own decision" in text(resp)
    assert count(Decision, world.tenant) == 0


def test_an_unknown_withdrawal_extent_is_refused_beside_the_field(client, login_as, world,
                                                                  decider):
    login_as(decider)
    resp = client.post(form_url(world, assessment=False), data=form_data(
        world, decider, kind="withdraw", input_ids=[], extent="bogus"))
    assert resp.status_code == 400
    assert field_error(resp, "extent") == "Choose full or partial withdrawal."
    assert count(Decision, world.tenant) == 0


def test_a_second_full_suspension_is_refused_as_nothing_to_suspend(client, login_as, world,
                                                                   decider):
    decide(world, decider, "suspend", input_ids=[], suspension_type="imposed", extent="full")
    login_as(decider)
    resp = client.post(form_url(world, assessment=False), data=form_data(
        world, decider, kind="suspend", input_ids=[], suspension_type="financial",
        extent="full"))
    assert resp.status_code == 409
    assert "Nothing accredited to suspend" in text(resp)
    assert count(Decision, world.tenant) == 1
