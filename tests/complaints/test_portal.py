"""The CAB's view: only complaints referred to its own CAB, the complainant's identity only with
consent, and its one answer."""

from __future__ import annotations

from accreditor.complaints import services
from accreditor.complaints.models import ComplaintStatus

S = ComplaintStatus


def referred(cw, **kw):
    c = cw.step(cw.file(**kw).id, services.acknowledge)
    return cw.step(c.id, services.refer_to_cab)


def test_the_cab_sees_only_complaints_referred_to_it(cw, client, login_as):
    mine = referred(cw)
    not_yet = cw.step(cw.file(what_happened="Not referred yet").id, services.acknowledge)
    skipped = cw.step(cw.file().id, services.acknowledge)
    skipped = cw.step(skipped.id, services.start_investigation, investigator_id=cw.w.outsider.id,
                      skip_referral_reason="Fraud alleged.")
    about_ab = cw.file(subject="ab")
    theirs = referred(cw, cab=cw.other.cab)
    login_as(cw.w.cab_user)
    listing = client.get("/alpha/portal/complaints/").get_data(as_text=True)
    assert mine.reference in listing
    for c in (not_yet, skipped, about_ab, theirs):
        assert c.reference not in listing
        assert client.get(f"/alpha/portal/complaints/{c.id}").status_code == 404
    assert client.get(f"/alpha/portal/complaints/{mine.id}").status_code == 200
    # The other CAB's complaint cannot be answered either
    resp = client.post(f"/alpha/portal/complaints/{theirs.id}/respond", data={"text": "x"})
    assert resp.status_code == 404
    assert cw.load(theirs.id).cab_responded_at is None


def test_without_consent_the_cab_does_not_see_who_complained(cw, client, login_as):
    c = referred(cw, consent=False)
    login_as(cw.w.cab_user)
    page = client.get(f"/alpha/portal/complaints/{c.id}").get_data(as_text=True)
    assert "did not agree to share their identity" in page
    for personal in ("Carla", "carla@example.net", "+44 20 7946 0000", "Bakery"):
        assert personal not in page
    assert "wrong uncertainty" in page  # the substance is shared


def test_with_consent_the_cab_sees_who_complained(cw, client, login_as):
    c = referred(cw, consent=True)
    login_as(cw.w.cab_user)
    page = client.get(f"/alpha/portal/complaints/{c.id}").get_data(as_text=True)
    assert "Carla Complainant" in page and "carla@example.net" in page


def test_the_cab_answers_once_and_the_handler_is_told(cw, client, login_as, outbox):
    c = referred(cw)
    login_as(cw.w.cab_user)
    resp = client.post(f"/alpha/portal/complaints/{c.id}/respond", data={"text": ""})
    assert resp.status_code == 400
    assert 'id="text-errors"' in resp.get_data(as_text=True)
    resp = client.post(f"/alpha/portal/complaints/{c.id}/respond",
                       data={"text": "We reissued the certificate."})
    assert resp.status_code == 302
    c = cw.load(c.id)
    assert c.cab_response == "We reissued the certificate." and c.cab_responded_at
    assert c.cab_responded_by_id == cw.w.cab_user.id
    resp = client.post(f"/alpha/portal/complaints/{c.id}/respond", data={"text": "Again"})
    assert resp.status_code == 409
    assert "already answered" in resp.get_data(as_text=True)
    assert cw.load(c.id).cab_response == "We reissued the certificate."
    # Nobody acknowledged as handler through the web: the managers are told
    subjects = [m.subject for m in outbox(cw.w.manager.email)]
    assert f"Complaint {c.reference}: the CAB has answered" in subjects


def test_staff_get_403_in_the_portal(cw, client, login_as):
    c = referred(cw)
    login_as(cw.w.manager)
    assert client.get(f"/alpha/portal/complaints/{c.id}").status_code == 403


def test_the_portal_list_runs_a_bounded_number_of_queries(cw, client, login_as, count_queries):
    referred(cw)
    login_as(cw.w.cab_user)
    with count_queries() as small:
        assert client.get("/alpha/portal/complaints/").status_code == 200
    for _ in range(8):
        referred(cw)
    with count_queries() as large:
        assert client.get("/alpha/portal/complaints/").status_code == 200
    assert large.count == small.count <= 8, (small.count, large.count)
