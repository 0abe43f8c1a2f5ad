"""The appeal pages: the CAB lodges from its decision and finding pages ("Challenge", not
"Appeal", where NCs are not appealable), follows, withdraws and asks for the panel; staff
handle it (independent handler choices with reasons, the outcome linking to a new decision);
refusals shown with their rule and nothing saved; 404 for other CABs and tenants; bounded
statement counts."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from accreditor.appeals import services
from accreditor.appeals.models import Appeal
from accreditor.core.db import commit, utcnow
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.documents.models import Document
from accreditor.extensions import db
from tests.appeals.conftest import (
    GROUNDS,
    issued_nc,
    load_appeal,
    lodge,
    notified_days_ago,
    set_policy,
    step,
    to_review,
)
from tests.auth.helpers import field_error, text
from tests.decisions.conftest import decide, reported
from tests.documents.helpers import PDF
from tests.factories import create_cab_user, create_member
from tests.findings.conftest import build_world


def purl(world, path: str = "/") -> str:
    return f"/{world.tenant.slug}/portal/appeals{path}"


def surl(world, path: str = "/") -> str:
    return f"/{world.tenant.slug}/appeals{path}"


def count_appeals(world) -> int:
    with tenant_scope(world.tenant):
        return db.session.execute(select(func.count(Appeal.id))).scalar_one()


# -- the CAB lodges --------------------------------------------------------------------------------


def test_the_cab_appeals_a_decision_from_its_accreditation_page(client, login_as, world,
                                                               decision, outbox):
    manager_mails = len(outbox(world.manager.email))
    login_as(world.cab_user)
    page = text(client.get(f"/{world.tenant.slug}/portal/accreditations/{world.acc.id}"))
    link = f"/{world.tenant.slug}/portal/appeals/new?decision_id={decision.id}"
    assert "Appeal this decision" in page and link in page
    form = client.get(link)
    assert "stays in force" in text(form) and "Lodge the appeal" in text(form)
    resp = client.post(link, data={"grounds": GROUNDS, "files": [
        FileStorage(io.BytesIO(PDF), filename="records.pdf", content_type="application/pdf")]},
        content_type="multipart/form-data")
    assert resp.status_code == 302
    shown = text(client.get(resp.headers["Location"]))
    assert "A-" in shown and "stays in force" in shown and "records.pdf" in shown
    assert GROUNDS in shown
    with tenant_scope(world.tenant):
        appeal = db.session.execute(select(Appeal)).scalar_one()
        assert not appeal.on_behalf and appeal.lodged_by_id == world.cab_user.id
        assert db.session.execute(select(Document.owner_type).where(
            Document.owner_id == appeal.id, Document.owner_type == "appeal")).scalar_one()
    assert len(outbox(world.manager.email)) == manager_mails + 1
    assert appeal.reference in text(client.get(purl(world)))


def test_lodging_after_the_window_is_refused_with_the_rule_and_nothing_saved(client, login_as,
                                                                           world, decision):
    notified_days_ago(world, decision.id, 45)
    login_as(world.cab_user)
    link = purl(world, f"/new?decision_id={decision.id}")
    assert "Rule 23" in text(client.get(link))
    resp = client.post(link, data={"grounds": GROUNDS})
    assert resp.status_code == 409 and "Rule 23" in text(resp)
    assert count_appeals(world) == 0


def test_grounds_are_required_beside_the_field(client, login_as, world, decision):
    login_as(world.cab_user)
    resp = client.post(purl(world, f"/new?decision_id={decision.id}"), data={"grounds": ""})
    assert resp.status_code == 400 and field_error(resp, "grounds")
    assert count_appeals(world) == 0


def test_two_cabs_of_the_tenant_each_lodge_and_get_distinct_references(client, login_as, world,
                                                                       decision, decider,
                                                                       tenant_a):
    """A CAB user sees only its own CAB's appeals: the numbering must not (rule 23 lodging)."""
    other = build_world(tenant_a, prefix="o-", legal_name="Other Lab Ltd")
    reported(other)
    other_decision = decide(other, decider, "maintain")
    login_as(world.cab_user)
    first = client.post(purl(world, f"/new?decision_id={decision.id}"), data={"grounds": GROUNDS})
    assert first.status_code == 302
    login_as(other.cab_user)
    grounds = "Our own grounds, typed with care."
    second = client.post(purl(other, f"/new?decision_id={other_decision.id}"),
                         data={"grounds": grounds})
    assert second.status_code == 302
    assert grounds in text(client.get(second.headers["Location"]))
    with tenant_scope(world.tenant):
        refs = sorted(db.session.execute(select(Appeal.reference)).scalars())
    year = date.today().year
    assert refs == [f"A-{year}-0001", f"A-{year}-0002"]


def test_a_nonconformity_is_challenged_not_appealed_when_the_setting_is_off(client, login_as,
                                                                           world):
    finding = issued_nc(world)
    login_as(world.cab_user)
    page = text(client.get(f"/{world.tenant.slug}/portal/findings/{finding.id}"))
    assert "Challenge this nonconformity" in page and "Appeal this nonconformity" not in page
    form = text(client.get(purl(world, f"/new?finding_id={finding.id}")))
    assert "Challenge a nonconformity" in form and "Lodge the challenge" in form
    resp = client.post(purl(world, f"/new?finding_id={finding.id}"), data={"grounds": GROUNDS})
    assert resp.status_code == 302
    shown = text(client.get(resp.headers["Location"]))
    assert "Challenge A-" in shown


def test_a_nonconformity_is_appealed_when_the_setting_is_on(client, login_as, world):
    set_policy(world, nc_appealable=True)
    finding = issued_nc(world)
    login_as(world.cab_user)
    page = text(client.get(f"/{world.tenant.slug}/portal/findings/{finding.id}"))
    assert "Appeal this nonconformity" in page and "Challenge this" not in page
    resp = client.post(purl(world, f"/new?finding_id={finding.id}"), data={"grounds": GROUNDS})
    assert resp.status_code == 302
    with tenant_scope(world.tenant):
        assert db.session.execute(select(Appeal.kind)).scalar_one() == "appeal"


def test_the_cab_withdraws_and_cannot_re_raise(client, login_as, world, decision):
    appeal = lodge(world, decision.id)
    login_as(world.cab_user)
    resp = client.post(purl(world, f"/{appeal.id}/withdraw"),
                       data={"withdraw-reason": "Resolved by phone."})
    assert resp.status_code == 302
    assert load_appeal(world, appeal.id).status == "withdrawn"
    again = client.post(purl(world, f"/new?decision_id={decision.id}"), data={"grounds": GROUNDS})
    assert again.status_code == 409 and "cannot be re-raised" in text(again)
    assert count_appeals(world) == 1


def test_the_cab_asks_for_the_panel_only_in_time(client, login_as, world, decision, handler):
    appeal = lodge(world, decision.id)
    to_review(world, appeal.id, handler.id)
    step(world, appeal.id, services.record_outcome, outcome="upheld", reasons="Sound.")
    with tenant_scope(world.tenant):
        a = db.session.execute(select(Appeal)).scalar_one()
        a.review_window_ends_on = a.review_window_ends_on - timedelta(days=200)
        commit()
    login_as(world.cab_user)
    page = text(client.get(purl(world, f"/{appeal.id}")))
    assert "could be requested until" in page and "Request a panel review" not in page
    resp = client.post(purl(world, f"/{appeal.id}/review"), data={"review-reason": "Unfair."})
    assert resp.status_code == 409
    assert load_appeal(world, appeal.id).status == "decided"


# -- isolation ----------------------------------------------------------------------------------------


def test_another_cabs_appeal_is_not_found(client, login_as, world, decision, tenant_a):
    appeal = lodge(world, decision.id)
    other = build_world(tenant_a, prefix="o-", legal_name="Other Lab Ltd")
    login_as(other.cab_user)
    assert client.get(purl(world, f"/{appeal.id}")).status_code == 404
    assert client.post(purl(world, f"/{appeal.id}/withdraw"),
                       data={"withdraw-reason": "x"}).status_code == 404
    assert client.get(purl(world, f"/new?decision_id={decision.id}")).status_code == 404
    assert appeal.reference not in text(client.get(purl(world)))
    assert load_appeal(world, appeal.id).status == "lodged"


def test_another_tenants_appeal_is_not_found(client, login_as, world, decision, tenant_b):
    appeal = lodge(world, decision.id)
    outsider = create_member(tenant_b, "boss@bravo.example.org", [Role.manager, Role.admin])
    login_as(outsider)
    assert client.get(f"/{tenant_b.slug}/appeals/{appeal.id}").status_code == 404
    assert client.post(f"/{tenant_b.slug}/appeals/{appeal.id}/acknowledge").status_code == 404


def test_cab_users_get_404_on_staff_pages(client, login_as, world, decision):
    appeal = lodge(world, decision.id)
    login_as(world.cab_user)
    assert client.get(surl(world)).status_code == 404
    assert client.get(surl(world, f"/{appeal.id}")).status_code == 404


# -- staff handle -----------------------------------------------------------------------------------------


def test_the_handler_choice_leaves_out_the_decision_maker_and_says_why(client, login_as, world,
                                                                       decision, decider,
                                                                       handler):
    appeal = lodge(world, decision.id)
    step(world, appeal.id, services.acknowledge_appeal)
    login_as(world.manager)
    page = client.get(surl(world, f"/{appeal.id}")).get_data(as_text=True)
    select_html = page[page.index('id="handler_id"'):page.index("</select>", page.index(
        'id="handler_id"'))]
    assert "Hal Handler" in select_html and "Dora Decider" not in select_html
    assert "Dora Decider — took the appealed decision" in text(client.get(surl(world, f"/{appeal.id}")))
    resp = client.post(surl(world, f"/{appeal.id}/handler"), data={"handler_id": decider.id})
    assert resp.status_code == 409 and "Rule 23" in text(resp)
    assert load_appeal(world, appeal.id).handler_id is None
    ok = client.post(surl(world, f"/{appeal.id}/handler"), data={"handler_id": handler.id})
    assert ok.status_code == 302 and load_appeal(world, appeal.id).handler_id == handler.id


def test_an_overturned_decision_links_to_a_new_decision_and_is_not_edited(client, login_as,
                                                                          world, decision,
                                                                          handler, outbox):
    appeal = lodge(world, decision.id)
    login_as(world.manager)
    assert client.post(surl(world, f"/{appeal.id}/acknowledge")).status_code == 302
    assert any("acknowledged" in m.subject for m in outbox(world.cab_user.email))
    to_review_resp = client.post(surl(world, f"/{appeal.id}/handler"),
                                 data={"handler_id": handler.id})
    assert to_review_resp.status_code == 302
    login_as(handler)
    resp = client.post(surl(world, f"/{appeal.id}/outcome"),
                       data={"outcome": "overturned", "reasons": "The records were complete."})
    assert resp.status_code == 302
    page = text(client.get(surl(world, f"/{appeal.id}")))
    assert f"/decisions/new?accreditation_id={world.acc.id}" in page
    assert "stays in force" in page
    with tenant_scope(world.tenant):
        from accreditor.decisions.models import Decision

        assert db.session.execute(select(func.count(Decision.id))).scalar_one() == 1


def test_only_the_handler_or_a_manager_records_the_outcome(client, login_as, world, decision,
                                                          handler, tenant_a):
    appeal = lodge(world, decision.id)
    to_review(world, appeal.id, handler.id)
    other_dm = create_member(tenant_a, "dm2@alpha.example.org", [Role.decision_maker])
    login_as(other_dm)
    resp = client.post(surl(world, f"/{appeal.id}/outcome"),
                       data={"outcome": "upheld", "reasons": "x"})
    assert resp.status_code == 403
    assert load_appeal(world, appeal.id).outcome is None


def test_the_manager_who_recorded_the_stage_one_outcome_stays_off_the_panel(
        client, login_as, world, decision, handler, tenant_a):
    appeal = lodge(world, decision.id)
    to_review(world, appeal.id, handler.id)
    login_as(world.manager)  # records the outcome on the handler's behalf
    resp = client.post(surl(world, f"/{appeal.id}/outcome"),
                       data={"outcome": "upheld", "reasons": "Sound."})
    assert resp.status_code == 302
    assert load_appeal(world, appeal.id).outcome_by_id == world.manager.id
    step(world, appeal.id, services.request_review, reason="Unfair.")
    others = [create_member(tenant_a, f"p{i}@alpha.example.org", [Role.manager],
                            name=f"Panel {i}") for i in range(3)]
    boss = create_member(tenant_a, "boss@alpha.example.org", [Role.manager], name="Bea Boss")
    login_as(boss)
    page = text(client.get(surl(world, f"/{appeal.id}")))
    assert "recorded the stage-1 outcome of this appeal" in page
    refused = client.post(surl(world, f"/{appeal.id}/panel"), data={
        "chair_id": world.manager.id, "member_ids": [others[0].id, others[1].id]})
    assert refused.status_code == 409 and "recorded the stage-1 outcome" in text(refused)
    assert load_appeal(world, appeal.id).status == "review_requested"
    assert client.post(surl(world, f"/{appeal.id}/panel"), data={
        "chair_id": others[0].id, "member_ids": [others[1].id, others[2].id]}
    ).status_code == 302
    login_as(world.manager)  # not on the panel, and not independent of stage 1
    resp = client.post(surl(world, f"/{appeal.id}/panel-outcome"),
                       data={"panel-outcome": "overturned", "panel-reasons": "Wrong."})
    assert resp.status_code == 409 and "Rule 23" in text(resp)
    assert load_appeal(world, appeal.id).panel_outcome is None
    login_as(boss)  # an independent manager may record it
    assert client.post(surl(world, f"/{appeal.id}/panel-outcome"), data={
        "panel-outcome": "upheld", "panel-reasons": "Sound."}).status_code == 302
    assert load_appeal(world, appeal.id).panel_outcome == "upheld"


def test_a_manager_records_an_appeal_on_the_cabs_behalf(client, login_as, world, decision):
    login_as(world.manager)
    resp = client.post(surl(world, f"/new?decision_id={decision.id}"), data={"grounds": GROUNDS})
    assert resp.status_code == 302
    with tenant_scope(world.tenant):
        appeal = db.session.execute(select(Appeal)).scalar_one()
    assert appeal.on_behalf and appeal.lodged_by_id == world.manager.id
    assert "for the CAB, by the accreditation body" in text(client.get(resp.headers["Location"]))


def test_the_staff_list_puts_open_appeals_first_and_flags_the_overdue(client, login_as, world,
                                                                      decision):
    late = lodge(world, decision.id)
    late_ref = late.reference
    with tenant_scope(world.tenant):
        a = db.session.execute(select(Appeal).where(Appeal.id == late.id)).scalar_one()
        a.ack_due_on = a.ack_due_on - timedelta(days=10)
        commit()
    other = lodge(world, issued_nc(world).id, finding=True)
    other_ref = other.reference
    step(world, other.id, services.withdraw_appeal, reason="Settled.")
    login_as(world.manager)
    resp = client.get(surl(world))
    page = text(resp)
    assert resp.status_code == 200, page
    assert page.index(late_ref) < page.index(other_ref)
    assert "acknowledgement overdue" in page and "1 overdue" in page
    only = text(client.get(surl(world, "/?overdue=1")))
    assert late_ref in only and other_ref not in only
    closed = text(client.get(surl(world, "/?group=withdrawn")))
    assert other_ref in closed and late_ref not in closed


# -- bounded statements ------------------------------------------------------------------------------------


def _many(world, n: int) -> None:
    """``n`` more finished appeals on the world's decision (closed: one open per subject)."""
    with tenant_scope(world.tenant):
        base = db.session.execute(select(Appeal).order_by(Appeal.id)).scalars().first()
        for i in range(n):
            db.session.add(Appeal(
                cab_id=base.cab_id, accreditation_id=base.accreditation_id, year=1999,
                seq=i + 1, reference=f"A-1999-{i + 1:04d}", kind="appeal",
                decision_id=base.decision_id, grounds="old", status="withdrawn",
                lodged_by_id=base.lodged_by_id, notified_on=base.notified_on,
                window_ends_on=base.window_ends_on, ack_due_on=base.ack_due_on,
                withdrawn_at=utcnow(), withdrawn_reason="old"))
        commit()


@pytest.mark.parametrize("who", ["staff", "cab"])
def test_the_lists_run_a_bounded_number_of_statements(client, login_as, world, decision,
                                                      count_queries, who):
    lodge(world, decision.id)
    lodge(world, issued_nc(world).id, finding=True)
    user, url = (world.manager, surl(world)) if who == "staff" else (world.cab_user, purl(world))
    login_as(user)
    with count_queries() as small:
        assert client.get(url).status_code == 200
    _many(world, 12)
    with count_queries() as large:
        resp = client.get(url)
    assert resp.status_code == 200 and "A-1999-0012" in text(resp)
    assert large.count == small.count, (small.count, large.count)


def test_the_appeal_page_runs_a_bounded_number_of_statements(client, login_as, world,
                                                             decision, handler, assert_max_queries):
    appeal = lodge(world, decision.id)
    step(world, appeal.id, services.acknowledge_appeal)
    login_as(world.manager)
    with assert_max_queries(25):
        assert client.get(surl(world, f"/{appeal.id}")).status_code == 200
    login_as(world.cab_user)
    with assert_max_queries(20):
        assert client.get(purl(world, f"/{appeal.id}")).status_code == 200


def test_another_cab_user_of_the_same_cab_follows_it(client, login_as, world, decision,
                                                    tenant_a):
    appeal = lodge(world, decision.id)
    colleague = create_cab_user(tenant_a, world.cab, "colleague@lab.example.org")
    login_as(colleague)
    resp = client.get(purl(world, f"/{appeal.id}"))
    assert resp.status_code == 200
    assert appeal.reference in resp.get_data(as_text=True)  # the colleague sees the appeal

