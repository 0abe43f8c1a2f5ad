"""Staff pages: the register, the list (filters, pagination, bounded queries), the complaint page
and its actions, refusals shown with their reason and status, and who may see what."""

from __future__ import annotations

from datetime import date, timedelta

from accreditor.complaints import services
from accreditor.complaints.models import TRANSITIONS, ComplaintStatus
from accreditor.core.permissions import Role
from tests.complaints.conftest import count_complaints
from tests.factories import create_member

S = ComplaintStatus


def test_a_manager_registers_a_complaint_received_by_letter(cw, client, login_as):
    login_as(cw.w.manager)
    resp = client.post("/alpha/complaints/register", data={
        "subject": "ab", "cab_id": "", "channel": "letter",
        "received_on": (date.today() - timedelta(days=2)).isoformat(),
        "complainant_name": "Lionel Letter", "complainant_email": "",
        "what_happened": "Your assessor was rude.",
        "event_on": (date.today() - timedelta(days=9)).isoformat()})
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Lionel Letter" in page and "Letter" in page
    assert "no e-mail address: write to the complainant" in page
    assert "registered by Mia Manager" in page


def test_an_assessor_cannot_register_and_a_cab_user_gets_404(cw, client, login_as):
    login_as(cw.w.outsider)
    assert client.get("/alpha/complaints/register").status_code == 403
    login_as(cw.w.cab_user)
    assert client.get("/alpha/complaints/").status_code == 404
    c = cw.file()
    assert client.get(f"/alpha/complaints/{c.id}").status_code == 404


def test_an_assessor_reads_only_the_complaints_they_investigate(cw, client, login_as):
    mine = cw.to_investigation(cw.file(), investigator=cw.w.outsider)
    other = cw.file(what_happened="Not for the outsider.")
    login_as(cw.w.outsider)
    listing = client.get("/alpha/complaints/").get_data(as_text=True)
    assert mine.reference in listing and other.reference not in listing
    assert client.get(f"/alpha/complaints/{mine.id}").status_code == 200
    assert client.get(f"/alpha/complaints/{other.id}").status_code == 403


def test_the_list_filters_by_state_cab_and_overdue(cw, client, login_as):
    a = cw.file()
    b = cw.file(cab=cw.other.cab)
    old = date.today() - timedelta(days=30)
    late = cw.file(received_on=old, event_on=old)
    cw.step(b.id, services.acknowledge)
    login_as(cw.w.manager)

    def refs(query=""):
        body = client.get(f"/alpha/complaints/{query}").get_data(as_text=True)
        return {r for r in (a.reference, b.reference, late.reference) if r in body}

    assert refs() == {a.reference, b.reference, late.reference}
    assert refs("?status=acknowledged") == {b.reference}
    assert refs(f"?cab_id={cw.other.cab.id}") == {b.reference}
    assert refs("?overdue=1") == {late.reference}
    assert refs("?status=nonsense") == {a.reference, b.reference, late.reference}


def test_the_complaint_page_offers_the_actions_of_its_state(cw, client, login_as):
    c = cw.file()
    login_as(cw.w.manager)
    page = client.get(f"/alpha/complaints/{c.id}").get_data(as_text=True)
    assert 'data-testid="action-acknowledge"' in page and 'data-testid="action-reject"' in page
    assert 'data-testid="action-approve"' not in page and 'data-testid="action-close"' not in page
    resp = client.post(f"/alpha/complaints/{c.id}/acknowledge", data={})
    assert resp.status_code == 302
    page = client.get(f"/alpha/complaints/{c.id}").get_data(as_text=True)
    assert "Acknowledged; the complainant has been told." in page
    assert 'data-testid="action-refer"' in page and 'data-testid="action-acknowledge"' not in page


STEP_TARGETS = {"acknowledge": S.acknowledged, "refer": S.referred,
                "investigate": S.investigating, "propose": S.decision_proposed,
                "approve": S.decision_approved, "return": S.investigating, "close": S.closed,
                "reject": S.rejected, "withdraw": S.withdrawn}


def test_the_page_offers_only_steps_the_transition_table_allows(cw, client, login_as,
                                                                in_each_state):
    login_as(cw.admin)  # handler and approver: sees every step there is
    offered = {}
    for state, c in in_each_state.items():
        page = client.get(f"/alpha/complaints/{c.id}").get_data(as_text=True)
        offered[state] = {n for n in STEP_TARGETS if f'data-testid="action-{n}"' in page}
        for name in offered[state]:
            assert STEP_TARGETS[name] in TRANSITIONS[state], (state, name)
    assert offered[S.decision_approved] == {"close", "withdraw"}
    assert offered[S.closed] == offered[S.withdrawn] == offered[S.rejected] == set()
    # and what is offered works
    c = in_each_state[S.decision_approved]
    resp = client.post(f"/alpha/complaints/{c.id}/withdraw",
                       data={"withdraw-note": "The complainant phoned to withdraw."})
    assert resp.status_code == 302 and cw.load(c.id).status == S.withdrawn


def test_an_invalid_transition_over_http_is_409(cw, client, login_as):
    c = cw.file()
    login_as(cw.w.manager)
    resp = client.post(f"/alpha/complaints/{c.id}/close", data={})
    assert resp.status_code == 409
    assert "cannot become closed" in resp.get_data(as_text=True)
    assert cw.load(c.id).status == S.received


def test_skipping_the_referral_over_http_shows_the_rule_beside_the_field(cw, client, login_as):
    c = cw.step(cw.file().id, services.acknowledge)
    login_as(cw.w.manager)
    resp = client.post(f"/alpha/complaints/{c.id}/investigate", data={
        "investigate-investigator_id": str(cw.w.outsider.id),
        "investigate-skip_referral_reason": ""})
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert 'id="investigate-skip_referral_reason-errors"' in body and "rule 25" in body
    assert cw.load(c.id).status == S.acknowledged


def test_the_investigator_approving_over_http_is_refused_naming_rule_25(cw, client, login_as):
    investigator = create_member(cw.tenant, "inv@alpha.example.org",
                                 [Role.manager, Role.decision_maker], name="Ivan Investigator")
    c = cw.to_proposed(cw.file(), investigator=investigator)
    login_as(investigator)
    resp = client.post(f"/alpha/complaints/{c.id}/approve", data={})
    assert resp.status_code == 403
    body = resp.get_data(as_text=True)
    assert "you investigated this complaint" in body and "rule 25" in body
    assert cw.load(c.id).status == S.decision_proposed
    login_as(cw.decider)
    assert client.post(f"/alpha/complaints/{c.id}/approve", data={}).status_code == 302
    assert cw.load(c.id).status == S.decision_approved


def test_the_investigator_proposes_the_decision(cw, client, login_as):
    c = cw.to_investigation(cw.file(), investigator=cw.w.outsider)
    login_as(cw.w.outsider)
    resp = client.post(f"/alpha/complaints/{c.id}/propose", data={
        "propose-outcome": "not_upheld", "propose-decision_text": ""})
    assert resp.status_code == 400
    assert 'id="propose-decision_text-errors"' in resp.get_data(as_text=True)
    resp = client.post(f"/alpha/complaints/{c.id}/propose", data={
        "propose-outcome": "not_upheld", "propose-decision_text": "The certificate was right."})
    assert resp.status_code == 302
    c = cw.load(c.id)
    assert (c.status, c.outcome, c.proposed_by_id) == (S.decision_proposed, "not_upheld",
                                                       cw.w.outsider.id)


def test_the_page_shows_due_dates_and_flags_overdue(cw, client, login_as):
    old = date.today() - timedelta(days=100)
    c = cw.file(received_on=old, event_on=old)
    login_as(cw.w.manager)
    page = client.get(f"/alpha/complaints/{c.id}").get_data(as_text=True)
    ack = page[page.index('data-testid="ack-due"'):][:300]
    res = page[page.index('data-testid="resolution-due"'):][:300]
    assert c.ack_due_on.isoformat() in ack and 'data-testid="overdue"' in ack
    assert 'data-testid="overdue"' in res


# -- bounded queries --------------------------------------------------------------------------------


def _many(cw, n: int) -> None:
    for i in range(n):
        c = cw.file(cab=cw.other.cab if i % 2 else None)
        if i % 3 == 0:
            cw.to_investigation(c)


def test_the_list_runs_a_bounded_number_of_queries(cw, client, login_as, count_queries):
    login_as(cw.w.manager)
    _many(cw, 2)
    with count_queries() as small:
        assert client.get("/alpha/complaints/").status_code == 200
    _many(cw, 12)
    with count_queries() as large:
        assert client.get("/alpha/complaints/?overdue=&status=").status_code == 200
    assert large.count == small.count <= 9, (small.count, large.count)


def test_the_complaint_page_runs_a_bounded_number_of_queries(cw, client, login_as,
                                                             count_queries):
    login_as(cw.w.manager)
    c = cw.to_investigation(cw.file())
    with count_queries() as small:
        assert client.get(f"/alpha/complaints/{c.id}").status_code == 200
    for i in range(10):
        cw.step(c.id, services.add_note, body=f"note {i}")
        cw.step(c.id, services.send_update, body=f"update {i}")
    with count_queries() as large:
        assert client.get(f"/alpha/complaints/{c.id}").status_code == 200
    assert large.count == small.count <= 10, (small.count, large.count)
    assert count_complaints(cw.tenant) == 1
