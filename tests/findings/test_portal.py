"""The CAB portal's findings pages: the CAB sees the findings issued to it (never drafts,
unissued or withdrawn ones) with what is due and when, reads the whole exchange, and answers
with evidence files; a refused answer saves nothing, files are checked by content and size, and
nobody else — another CAB, another tenant, AB staff — gets in."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.documents.models import Document
from accreditor.extensions import db
from accreditor.findings import services
from accreditor.findings.models import FindingResponse
from tests.auth.helpers import audit_events, field_error, flashes, form_error, text, words
from tests.documents.helpers import EXE, PDF, stored_files, temporary_storage  # noqa: F401 - fixture
from tests.factories import create_cab, create_cab_user
from tests.findings.conftest import build_world, load_assessment, load_finding

TODAY = date.today()
CORRECTION = "Balance B-12 withdrawn from use and labelled."
CAUSE = "The recall list did not include hired equipment; three balances were affected."
ACTION = "Recall system covering hired equipment, reviewed monthly by the quality manager."


def url(finding_id: int | None = None, suffix: str = "", slug: str = "alpha") -> str:
    base = f"/{slug}/portal/findings/"
    return base if finding_id is None else f"{base}{finding_id}{suffix}"


def answer(client, finding_id: int, *, files=((PDF, "Recall procedure.pdf"),), **fields):
    data = {"response_type": "actions_completed", "correction": CORRECTION,
            "cause_analysis": CAUSE, "corrective_action": ACTION, **fields}
    data["files"] = [(io.BytesIO(content), name) for content, name in files]
    return client.post(url(finding_id, "/response"), data=data,
                       content_type="multipart/form-data")


def counts(tenant) -> tuple[int, int]:
    """(FindingResponse rows, Document rows) of the tenant."""
    db.session.expire_all()
    with tenant_scope(tenant):
        return (db.session.execute(select(func.count(FindingResponse.id))).scalar_one(),
                db.session.execute(select(func.count(Document.id))).scalar_one())


def evidence_of(tenant, finding_id: int) -> list[Document]:
    db.session.expire_all()
    with tenant_scope(tenant):
        f = load_finding(tenant, finding_id)
        docs = services.evidence_by_response(services.responses_of(f))
        return [d for ds in docs.values() for d in ds]


def listed(resp) -> list[dict]:
    """The rows of the findings table: reference, status and due cell, as a reader sees them."""
    body = resp.get_data(as_text=True)
    m = re.search(r'<table[^>]*data-testid="findings".*?<tbody>(.*?)</tbody>', body, re.S)
    if not m:
        return []
    out = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", m.group(1), re.S):
        cells = [" ".join(re.sub(r"<[^>]+>", " ", c).split())
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        out.append({"ref": cells[0], "assessment": cells[1], "grade": cells[2],
                    "requirement": cells[3], "status": cells[4], "due": cells[5]})
    return out


def refs(resp) -> list[str]:
    return [r["ref"] for r in listed(resp)]


def reopen(world) -> None:
    """Put the assessment back in progress so the team can raise more findings (test setup)."""
    with tenant_scope(world.tenant):
        load_assessment(world.assessment.id).status = "in_progress"
        commit()


@pytest.fixture
def major(world, login_as):
    """A major finding issued today; the CAB user is signed in."""
    f = world.raise_finding("major")
    world.issue(today=TODAY)
    login_as(world.cab_user)
    return f


# -- the list -----------------------------------------------------------------------------------


def test_the_list_shows_issued_findings_with_due_dates_and_hides_unissued_ones(
        client, login_as, world, tenant_a):
    issued_on = TODAY - timedelta(days=5)
    major = world.raise_finding("major")
    note = world.raise_finding("observation")
    world.issue(today=issued_on)
    reopen(world)
    draft = world.raise_finding("minor", by=world.expert)
    recorded = world.raise_finding("minor", clause="7.5")
    withdrawn = world.raise_finding("minor", clause="7.6")
    with tenant_scope(tenant_a):
        services.withdraw_finding(world.load(withdrawn.id), "Raised in error.")
        commit()
    assert [world.load(f.id).status for f in (draft, recorded, withdrawn)] == [
        "draft", "recorded", "withdrawn"]

    login_as(world.cab_user)
    resp = client.get(url())
    assert resp.status_code == 200
    rows = listed(resp)
    assert [r["ref"] for r in rows] == [major.reference, note.reference]
    first = rows[0]
    assert first["grade"] == "Major nonconformity"
    assert first["requirement"] == "ISO/IEC 17025:2017, clause 6.4"
    assert first["status"] == "Awaiting your answer"
    assert first["due"] == f"{(issued_on + timedelta(days=30)).isoformat()} answer"
    assert first["assessment"].startswith("Surveillance ")
    assert world.assessment.planned_start_on.isoformat() in first["assessment"]
    assert rows[1]["status"] == "Closed"
    for hidden in (draft, recorded, withdrawn):
        assert client.get(url(hidden.id)).status_code == 404
        assert answer(client, hidden.id).status_code == 404
    assert counts(tenant_a) == (0, 0)


def test_the_list_filters_by_status_group_and_overdue_and_sorts_by_due_date(
        client, login_as, world, tenant_a):
    late = world.raise_finding("major")
    reviewed = world.raise_finding("minor", clause="7.5")
    planned = world.raise_finding("major", clause="7.6")
    note = world.raise_finding("observation", clause="7.7")
    issued_on = TODAY - timedelta(days=40)  # answers were due 10 days ago
    world.issue(today=issued_on)
    world.respond(reviewed.id, response_type="plan_only", files=[],
                      correction=None, cause_analysis=None)
    world.respond(planned.id, response_type="plan_only", files=[])
    world.review(planned.id, True)
    assert world.load(planned.id).status == "plan_accepted"

    login_as(world.cab_user)
    resp = client.get(url())
    rows = listed(resp)
    # To answer first, the soonest due first; then under review; then closed.
    assert [r["ref"] for r in rows] == [late.reference, planned.reference, reviewed.reference,
                                        note.reference]
    assert [r["status"] for r in rows] == ["Awaiting your answer",
                                           "Plan accepted — evidence due", "Under review",
                                           "Closed"]
    assert rows[0]["due"] == f"{(issued_on + timedelta(days=30)).isoformat()} answer Overdue"
    assert rows[1]["due"] == f"{(issued_on + timedelta(days=90)).isoformat()} evidence"
    assert rows[2]["due"] == "with the accreditation body"
    assert "To answer (2)" in words(resp) and "Overdue (1)" in words(resp)

    assert refs(client.get(url() + "?group=answer")) == [late.reference, planned.reference]
    assert refs(client.get(url() + "?group=review")) == [reviewed.reference]
    assert refs(client.get(url() + "?group=closed")) == [note.reference]
    assert refs(client.get(url() + "?overdue=1")) == [late.reference]
    assert refs(client.get(url() + "?group=review&overdue=1")) == []
    assert "No findings match." in words(client.get(url() + "?group=review&overdue=1"))
    assert refs(client.get(url() + "?sort=reference")) == [
        late.reference, reviewed.reference, planned.reference, note.reference]
    # An edited link never breaks the page: the unknown filter is ignored.
    resp = client.get(url() + "?group=bogus&sort=nonsense&page=-3")
    assert resp.status_code == 200 and len(refs(resp)) == 4


def test_the_list_pages_50_at_a_time_and_issues_a_bounded_number_of_statements(
        client, login_as, world, count_queries, assert_max_queries):
    for i in range(2):
        world.raise_finding("minor", clause="7.5", statement=f"Record {i} was incomplete.")
    world.issue(today=TODAY)
    login_as(world.cab_user)
    with count_queries() as small:
        resp = client.get(url())
    assert resp.status_code == 200 and len(listed(resp)) == 2
    reopen(world)
    for i in range(28):
        world.raise_finding("minor", clause="7.5", statement=f"Record {i} was incomplete.")
    world.issue(today=TODAY)
    with assert_max_queries(small.count) as large:
        resp = client.get(url())
    assert len(listed(resp)) == 30
    print(f"list statements: 2 findings {small.count}, 30 findings {large.count}")
    assert small.count <= 10, small.statements

    reopen(world)
    for i in range(25):
        world.raise_finding("minor", clause="7.5", statement=f"Record {i} was incomplete.")
    world.issue(today=TODAY)
    page1, page2 = client.get(url()), client.get(url() + "?page=2")
    assert len(listed(page1)) == 50 and len(listed(page2)) == 5
    assert "Page 1 of 2" in words(page1)
    assert not set(refs(page1)) & set(refs(page2))


# -- one finding and the answer -----------------------------------------------------------------


def test_the_finding_page_shows_the_requirement_evidence_scope_lines_locations_and_due_dates(
        client, world, major):
    resp = client.get(url(major.id))
    assert resp.status_code == 200
    page = words(resp)
    assert f"Finding {major.reference}" in page and "Awaiting your answer" in page
    assert "ISO/IEC 17025:2017, clause 6.4" in page
    assert "The balance used for mass calibration was not calibrated." in page
    assert "Balance B-12: calibration certificate expired 2025-03." in page
    assert f"Answer due {(TODAY + timedelta(days=30)).isoformat()}" in page
    assert f"Evidence due {(TODAY + timedelta(days=90)).isoformat()}" in page
    assert "A – " in page  # location A with its name
    assert re.search(r'data-testid="scope-lines">\s*<li value="\d+">\S', resp.get_data(
        as_text=True))
    assert "You have not answered yet." in page
    assert 'enctype="multipart/form-data"' in resp.get_data(as_text=True)
    assert re.search(r'<input[^>]*type="file"[^>]*multiple|<input[^>]*multiple[^>]*type="file"',
                     resp.get_data(as_text=True))
    for label in ("Evidence of conformity (type 1)", "Corrective actions completed (type 2)",
                  "Plan only (type 3)"):
        assert label in page


@pytest.mark.parametrize("blank, message", [
    ("correction", "Describe the correction made (rule 15)."),
    ("cause_analysis", "Give the extent and root-cause analysis (rule 15)."),
    ("corrective_action", "Describe the corrective action (rule 15)."),
])
def test_a_major_answer_missing_a_part_is_refused_beside_that_field_and_nothing_is_saved(
        client, tenant_a, world, major, storage_dir, blank, message):
    typed = {"correction": CORRECTION, "cause_analysis": CAUSE, "corrective_action": ACTION}
    resp = answer(client, major.id, **{blank: "   "})
    assert resp.status_code == 400
    assert field_error(resp, blank) == message
    others = [name for name in typed if name != blank]
    assert [field_error(resp, name) for name in others] == ["", ""]
    for name in others:  # what was typed is kept
        assert typed[name] in text(resp)
    assert "choose them again" in words(resp)
    assert counts(tenant_a) == (0, 0)
    assert stored_files(storage_dir) == []
    f = world.load(major.id)
    assert (f.status, f.round) == ("open", 0)
    assert audit_events("finding.response_submitted", tenant=tenant_a) == []


def test_a_minor_answer_needs_the_correction_or_the_corrective_action(
        client, login_as, tenant_a, world):
    minor = world.raise_finding("minor")
    world.issue(today=TODAY)
    login_as(world.cab_user)
    resp = answer(client, minor.id, response_type="plan_only", files=(), correction="",
                  cause_analysis=CAUSE, corrective_action="")
    assert resp.status_code == 400
    assert field_error(resp, "corrective_action") == (
        "Describe the correction or the corrective action.")
    assert counts(tenant_a) == (0, 0)
    assert world.load(minor.id).status == "open"
    # Either one is enough for a minor (no cause analysis needed either).
    resp = answer(client, minor.id, response_type="plan_only", files=(), correction="",
                  cause_analysis="", corrective_action=ACTION)
    assert resp.status_code == 302
    assert world.load(minor.id).status == "responded"


def test_evidence_types_need_a_file_and_a_type_must_be_chosen(client, tenant_a, major):
    resp = answer(client, major.id, files=())
    assert resp.status_code == 400
    assert field_error(resp, "files") == "Attach the implementation evidence (at least one file)."
    resp = answer(client, major.id, response_type="")
    assert resp.status_code == 400
    assert field_error(resp, "response_type") == "Choose the type of response."
    assert counts(tenant_a) == (0, 0)


def test_a_full_answer_with_a_pdf_is_saved_shown_in_the_thread_and_downloadable(
        client, tenant_a, world, major, storage_dir):
    resp = answer(client, major.id)
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(url(major.id) + "#round-1")
    page = client.get(resp.headers["Location"])
    assert flashes(page) == ["Your answer was sent to the accreditation body. You will be told "
                             "when it has been reviewed."]
    shown = words(page)
    assert "Under review" in shown and "Round 1 · Corrective actions completed (type 2)" in shown
    assert CORRECTION in shown and CAUSE in shown and ACTION in shown
    assert "Awaiting review by the accreditation body." in shown
    assert 'data-testid="response-form"' not in page.get_data(as_text=True)

    [response] = _responses(tenant_a)
    assert (response.round, response.response_type, response.correction,
            response.cause_analysis, response.corrective_action, response.submitted_by_id) == (
        1, "actions_completed", CORRECTION, CAUSE, ACTION, world.cab_user.id)
    [doc] = evidence_of(tenant_a, major.id)
    assert (doc.owner_type, doc.owner_id, doc.cab_id, doc.original_name, doc.media_type) == (
        "finding_response", response.id, world.cab.id, "Recall procedure.pdf", "application/pdf")
    assert f'href="/alpha/documents/{doc.id}/download"' in page.get_data(as_text=True)
    assert len(stored_files(storage_dir)) == 1
    f = world.load(major.id)
    assert (f.status, f.round) == ("responded", 1)

    download = client.get(f"/alpha/documents/{doc.id}/download")
    assert download.status_code == 200
    assert download.data == PDF
    assert download.headers["Content-Disposition"].startswith(
        'attachment; filename="Recall procedure.pdf"')
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert [e.object_id for e in audit_events("document.downloaded", tenant=tenant_a)] == [
        str(doc.id)]
    assert len(audit_events("finding.response_submitted", tenant=tenant_a)) == 1


def _responses(tenant) -> list[FindingResponse]:
    db.session.expire_all()
    with tenant_scope(tenant):
        return list(db.session.execute(
            select(FindingResponse).order_by(FindingResponse.round)).scalars())


def test_a_file_over_the_per_file_limit_gets_a_413_beside_the_field_and_nothing_is_stored(
        app, client, tenant_a, world, major, storage_dir, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1024)
    big = PDF + b"%" * 2048
    resp = answer(client, major.id, files=((big, "big.pdf"),))
    assert resp.status_code == 413
    assert field_error(resp, "files") == ("The file is larger than the 1 KB limit. Nothing was "
                                          "stored.")
    assert "At most 1 KB per file" in words(resp)  # the limit is stated before uploading too
    assert counts(tenant_a) == (0, 0)
    assert stored_files(storage_dir) == []
    assert world.load(major.id).status == "open"
    # With an acceptable file before it, the answer is still refused as a whole: no rows.
    resp = answer(client, major.id, files=((PDF, "small.pdf"), (big, "big.pdf")))
    assert resp.status_code == 413
    assert counts(tenant_a) == (0, 0)
    assert audit_events("document.uploaded", tenant=tenant_a) == []


def test_a_30_mb_upload_gets_a_413_with_a_clear_message_and_nothing_is_stored(
        client, tenant_a, world, major, storage_dir):
    resp = answer(client, major.id, files=((PDF + b"%" * (30 * 1024 * 1024), "scan.pdf"),))
    assert resp.status_code == 413
    assert "File too large" in text(resp)
    assert ("The upload is larger than the allowed limit of 25 MB per file. Nothing was stored."
            in words(resp))
    assert counts(tenant_a) == (0, 0)
    assert stored_files(storage_dir) == []
    assert world.load(major.id).status == "open"


def test_a_program_renamed_pdf_is_refused_by_its_content_and_nothing_is_stored(
        client, tenant_a, major, storage_dir):
    resp = answer(client, major.id, files=((EXE, "evidence.pdf"),))
    assert resp.status_code == 400
    assert field_error(resp, "files").startswith(
        "This file is a Windows program, which is not accepted.")
    assert counts(tenant_a) == (0, 0)
    assert stored_files(storage_dir) == []
    assert audit_events("document.uploaded", tenant=tenant_a) == []


def test_a_file_name_with_a_path_and_control_characters_is_stored_and_shown_sanitised(
        client, tenant_a, major):
    resp = answer(client, major.id, files=((PDF, "../../etc/passwd\x07.pdf"),))
    assert resp.status_code == 302
    [doc] = evidence_of(tenant_a, major.id)
    assert doc.original_name == "passwd.pdf"
    page = client.get(url(major.id))
    body = page.get_data(as_text=True)
    assert 'download>passwd.pdf</a>' in body
    assert "../" not in body and "\x07" not in body
    download = client.get(f"/alpha/documents/{doc.id}/download")
    assert download.headers["Content-Disposition"].startswith('attachment; filename="passwd.pdf"')


def test_after_a_rejection_the_cab_sees_the_reason_and_answers_again(
        client, login_as, tenant_a, world, major):
    assert answer(client, major.id).status_code == 302
    login_as(world.lead)  # the lead rejects it on the staff finding page
    resp = client.post(f"/alpha/findings/{major.id}/review",
                       data={"outcome": "reject",
                             "note": "The recall list still omits the hired balances."})
    assert resp.status_code == 302
    assert _responses(tenant_a)[0].reviewed_by_id == world.lead.id

    login_as(world.cab_user)
    page = client.get(url(major.id))
    shown = words(page)
    assert "Awaiting your answer" in shown
    assert ("Your last answer was not accepted: read the reason below and answer again by "
            f"{(TODAY + timedelta(days=90)).isoformat()}.") in shown
    # The reviewer's name is shown beside the outcome, nothing else of them.
    assert re.search(r"Not accepted \d{4}-\d{2}-\d{2} · Lena Lead", shown), shown
    assert "The recall list still omits the hired balances." in shown
    assert world.lead.email not in page.get_data(as_text=True)
    assert "Answer again" in shown

    resp = answer(client, major.id, corrective_action="Recall list now covers hired balances.",
                  files=((PDF + b"% v2\n", "Recall list v2.pdf"),))
    assert resp.status_code == 302 and resp.headers["Location"].endswith("#round-2")
    page = client.get(url(major.id))
    assert len(re.findall(r'data-testid="round"', page.get_data(as_text=True))) == 2
    assert [(r.round, r.outcome) for r in _responses(tenant_a)] == [(1, "rejected"), (2, None)]
    assert sorted(d.original_name for d in evidence_of(tenant_a, major.id)) == [
        "Recall list v2.pdf", "Recall procedure.pdf"]


def test_after_a_plan_is_accepted_evidence_is_asked_for_and_a_second_plan_is_refused(
        client, tenant_a, world, major):
    assert answer(client, major.id, response_type="plan_only", files=()).status_code == 302
    world.review(major.id, True)
    page = client.get(url(major.id))
    shown = words(page)
    assert "Plan accepted — evidence due" in shown
    assert (f"Your plan was accepted. Send the implementation evidence by "
            f"{(TODAY + timedelta(days=90)).isoformat()}.") in shown
    assert "Send the implementation evidence" in shown
    assert 'value="plan_only"' not in page.get_data(as_text=True)

    resp = answer(client, major.id, response_type="plan_only", files=())
    assert resp.status_code == 400
    assert field_error(resp, "response_type") == (
        "Your plan was accepted: now send the implementation evidence.")
    assert counts(tenant_a) == (1, 0)
    assert answer(client, major.id).status_code == 302
    assert world.load(major.id).status == "responded"


def test_an_answer_under_review_cannot_be_sent_twice(client, tenant_a, major):
    assert answer(client, major.id).status_code == 302
    resp = answer(client, major.id)
    assert resp.status_code == 409
    assert form_error(resp) == "This finding is not awaiting an answer from you."
    assert counts(tenant_a) == (1, 1)


# -- other people -------------------------------------------------------------------------------


def test_another_cabs_user_gets_404_for_the_finding_and_its_evidence(
        client, login_as, tenant_a, world, major, storage_dir):
    assert answer(client, major.id).status_code == 302
    [doc] = evidence_of(tenant_a, major.id)
    other = create_cab(tenant_a, "Other Calibration House")
    intruder = create_cab_user(tenant_a, other, "boss@other.example.org", name="Olga Other")
    login_as(intruder)
    assert refs(client.get(url())) == []
    assert client.get(url(major.id)).status_code == 404
    assert client.get(f"/alpha/documents/{doc.id}/download").status_code == 404
    assert answer(client, major.id).status_code == 404
    assert counts(tenant_a) == (1, 1)
    assert audit_events("document.downloaded", tenant=tenant_a) == []


def test_another_tenants_finding_is_a_404(client, login_as, tenant_a, tenant_b, world, major):
    other = build_world(tenant_b, prefix="b-")
    theirs = other.raise_finding("major")
    other.issue(today=TODAY)
    assert client.get(url(theirs.id)).status_code == 404
    assert answer(client, theirs.id).status_code == 404
    assert theirs.reference not in refs(client.get(url()))
    login_as(other.cab_user)
    assert client.get(url(major.id, slug="bravo")).status_code == 404
    assert client.get(url(theirs.id, slug="bravo")).status_code == 200
    assert counts(tenant_b) == (0, 0)


def test_staff_get_403_and_anonymous_visitors_are_sent_to_sign_in(
        client, login_as, world, major):
    for staff in (world.manager, world.lead):
        login_as(staff)
        assert client.get(url()).status_code == 403
        assert client.get(url(major.id)).status_code == 403
        assert answer(client, major.id).status_code == 403
    client.post("/logout")
    resp = client.get(url(major.id))
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


# -- statements ---------------------------------------------------------------------------------


def test_the_finding_page_issues_a_bounded_number_of_statements_whatever_the_rounds(
        client, tenant_a, world, major, count_queries, assert_max_queries):
    assert answer(client, major.id).status_code == 302
    page = url(major.id)  # read before counting: the test's own session may refresh the row
    with count_queries() as one:
        resp = client.get(page)
    assert resp.status_code == 200
    for i in range(4):
        world.review(major.id, False, f"Reason {i}: not enough.")
        world.respond(major.id, corrective_action=f"Attempt {i + 2}.")
    with assert_max_queries(one.count) as five:
        resp = client.get(page)
    assert len(re.findall(r'data-testid="round"', resp.get_data(as_text=True))) == 5
    assert "Reason 3: not enough." in words(resp)
    print(f"show statements: 1 round {one.count}, 5 rounds {five.count}")
    assert one.count <= 12, one.statements
