"""Pages of the sanctions workflow: the CAB's written requests in the portal, the staff pages
that answer them, the lighter path from the queue, the paginated lists; bounded statements."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.decisions.models import CabRequest, Decision
from accreditor.extensions import db
from accreditor.tenants import services as tenant_services
from accreditor.tenants.models import TenantPolicy
from tests.auth.helpers import flashes
from tests.decisions.conftest import TODAY, acc_of, decide, reported


def purl(world, path: str) -> str:
    return f"/{world.tenant.slug}/portal/decisions{path}"


def durl(world, path: str) -> str:
    return f"/{world.tenant.slug}/decisions{path}"


def ask(client, world, kind="resignation", **kw):
    data = {"reason": "We stop calibration work.", "extent": "full",
            "effective_on": (TODAY + timedelta(days=90)).isoformat()}
    data.update(kw)
    return client.post(purl(world, f"/accreditations/{world.acc.id}/requests/new?kind={kind}"),
                       data=data)


def only_request(tenant) -> CabRequest:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.execute(select(CabRequest)).scalar_one()


def test_the_cab_asks_for_resignation_with_notice_and_staff_accept_it(
        client, login_as, world, decider, tenant_a, outbox):
    login_as(world.cab_user)
    page = client.get(f"/{tenant_a.slug}/portal/accreditations/{world.acc.id}")
    assert "request-links" in page.get_data(as_text=True)
    early = ask(client, world, effective_on=(TODAY + timedelta(days=30)).isoformat())
    assert early.status_code == 400
    assert "rule 39" in early.get_data(as_text=True)
    resp = ask(client, world)
    assert resp.status_code == 302
    req = only_request(tenant_a)
    assert req.status == "submitted"
    assert any("CAB request" in m.subject for m in outbox(world.manager.email))
    shown = client.get(purl(world, f"/requests/{req.id}")).get_data(as_text=True)
    assert "Submitted: awaits the AB" in shown
    login_as(decider)
    listing = client.get(durl(world, "/requests")).get_data(as_text=True)
    assert "request-row" in listing
    resp = client.post(durl(world, f"/requests/{req.id}/answer"),
                       data={"maker_ids": [str(decider.id)], "rationale": "Notice respected."})
    assert resp.status_code == 302
    assert only_request(tenant_a).status == "accepted"
    login_as(world.cab_user)
    assert "Accepted: takes effect" in client.get(
        purl(world, f"/requests/{req.id}")).get_data(as_text=True)
    # The CAB changes its mind before the date.
    assert client.post(purl(world, f"/requests/{req.id}/withdraw")).status_code == 302
    assert only_request(tenant_a).status == "withdrawn"


def test_the_cab_asks_for_inactive_status_and_a_decision_maker_approves(
        client, login_as, world, decider, tenant_a):
    login_as(world.cab_user)
    assert ask(client, world, kind="inactive", reason="").status_code == 400  # reason needed
    assert ask(client, world, kind="inactive", reason="No work this year.").status_code == 302
    req = only_request(tenant_a)
    login_as(decider)
    resp = client.post(durl(world, f"/requests/{req.id}/answer"),
                       data={"maker_ids": [str(decider.id)], "rationale": "Approved."})
    assert resp.status_code == 302
    db.session.expire_all()
    with tenant_scope(tenant_a):
        assert acc_of(world).status == "inactive"
        assert db.session.execute(select(Decision.kind)).scalar_one() == "inactive"


def test_an_assessor_cannot_answer_a_request_and_another_cab_cannot_see_it(
        client, login_as, world, decider, tenant_a):
    from tests.findings.conftest import build_world

    login_as(world.cab_user)
    ask(client, world, kind="inactive", reason="No work this year.")
    req = only_request(tenant_a)
    login_as(world.lead)
    assert client.post(durl(world, f"/requests/{req.id}/answer"),
                       data={"maker_ids": [str(decider.id)], "rationale": "x"}
                       ).status_code == 403
    other = build_world(tenant_a, prefix="o-", legal_name="Other Lab Ltd")
    login_as(other.cab_user)
    assert client.get(purl(world, f"/requests/{req.id}")).status_code == 404
    assert client.post(purl(world, f"/requests/{req.id}/withdraw")).status_code == 404


def _light(tenant, on: bool):
    with tenant_scope(tenant):
        tenant_services.update_policy(TenantPolicy.current(), light_surveillance_decisions=on)
        commit()


def test_the_lighter_path_is_refused_when_off_and_one_click_when_on(
        client, login_as, world, tenant_a):
    reported(world, recommendation="maintain")
    login_as(world.manager)
    assert "light-form" not in client.get(durl(world, "/")).get_data(as_text=True)
    resp = client.post(durl(world, f"/light/{world.assessment.id}"))
    assert resp.status_code == 303
    assert "The lighter path for clean surveillance outcomes is off" in " ".join(
        flashes(client.get(resp.headers["Location"])))
    with tenant_scope(tenant_a):
        assert db.session.execute(select(Decision.id)).first() is None
    _light(tenant_a, True)
    assert "light-form" in client.get(durl(world, "/")).get_data(as_text=True)
    resp = client.post(durl(world, f"/light/{world.assessment.id}"))
    assert resp.status_code == 302
    with tenant_scope(tenant_a):
        d = db.session.execute(select(Decision)).scalar_one()
        assert (d.kind, d.light_path, d.assessment_id) == ("maintain", True,
                                                            world.assessment.id)


def test_the_lighter_path_refuses_a_team_member_and_a_surveillance_with_findings(
        client, login_as, world, tenant_a):
    from accreditor.assessments.models import TeamAssignment

    _light(tenant_a, True)
    world.raise_finding("minor")
    reported(world, recommendation="maintain")
    login_as(world.manager)
    assert client.post(durl(world, f"/light/{world.assessment.id}")).status_code == 303
    with tenant_scope(tenant_a):
        assert db.session.execute(select(Decision.id)).first() is None
    # A clean report, but the manager was on the team: rule 1.
    with tenant_scope(tenant_a):
        from accreditor.findings.models import Finding

        db.session.execute(Finding.__table__.update().values(status="withdrawn"))
        db.session.add(TeamAssignment(assessment_id=world.assessment.id, cab_id=world.cab.id,
                                      user_id=world.manager.id, role="observer"))
        commit()
    resp = client.post(durl(world, f"/light/{world.assessment.id}"), follow_redirects=True)
    assert "rule 1" in resp.get_data(as_text=True)
    with tenant_scope(tenant_a):
        assert db.session.execute(select(Decision.id)).first() is None


def test_decision_lists_on_the_accreditation_page_are_paginated(
        client, login_as, world, decider, tenant_a):
    from accreditor.decisions import views

    reported(world)
    for _ in range(views.LIST_SIZE + 1):
        decide(world, decider, "maintain", assessment_id=None)
    login_as(world.manager)
    first = client.get(f"/{tenant_a.slug}/accreditations/{world.acc.id}").get_data(as_text=True)
    assert "dpage=2" in first
    second = client.get(f"/{tenant_a.slug}/accreditations/{world.acc.id}?dpage=2")
    assert second.status_code == 200


# -- bounded statements ------------------------------------------------------------------------


def _requests(world, tenant, n: int) -> int:
    from accreditor.decisions import requests

    with tenant_scope(tenant):
        last = None
        for k in range(n):
            acc = acc_of(world)
            last = requests.submit_request(acc, kind="inactive", reason=f"Reason {k}")
            requests.withdraw_request(last)
        commit()
        return last.id


def test_request_pages_take_the_same_statements_for_1_or_8_requests(
        client, login_as, world, decider, tenant_a, count_queries):
    counts = []
    for n in (1, 7):
        req_id = _requests(world, tenant_a, n)
        login_as(decider)
        with count_queries() as q1:
            assert client.get(durl(world, "/requests")).status_code == 200
        with count_queries() as q2:
            assert client.get(durl(world, f"/requests/{req_id}")).status_code == 200
        login_as(world.cab_user)
        with count_queries() as q3:
            assert client.get(purl(world, f"/requests/{req_id}")).status_code == 200
        with count_queries() as q4:
            assert client.get(
                f"/{tenant_a.slug}/portal/accreditations/{world.acc.id}").status_code == 200
        counts.append((q1.count, q2.count, q3.count, q4.count))
    assert counts[0] == counts[1], counts


def test_the_queue_with_the_lighter_path_takes_the_same_statements_for_1_or_6_reports(
        client, login_as, world, tenant_a, count_queries):
    from tests.decisions.test_views import _reported_elsewhere

    _light(tenant_a, True)
    reported(world, recommendation="maintain")
    login_as(world.manager)
    with count_queries() as small:
        assert client.get(durl(world, "/")).status_code == 200
    _reported_elsewhere(tenant_a, 5)
    with count_queries() as large:
        assert client.get(durl(world, "/")).status_code == 200
    assert large.count == small.count, (small.count, large.count)
