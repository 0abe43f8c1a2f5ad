"""Printable assessment plans and reports (HTML and PDF): what staff and the CAB read, what they
never read (internal notes), who gets a 404, and the bounded number of queries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from accreditor.assessments import printing, services, team
from accreditor.assessments.models import Assessment, AssessmentItem, AuthorisationRole
from accreditor.core.db import commit, utcnow
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.scopes.models import Accreditation, ScopeItem
from tests.assessments.assessment_helpers import (
    END,
    LEAD,
    START,
    assessor,
    cal_setup,
    new_assessment,
)
from tests.auth.helpers import text
from tests.factories import CAL_LINE, MASS_LINE, create_cab, create_cab_user

SECRET = "internal-notes-marker-7f3a"
CAB_NAME = "Ørsted Łódź Laboratoř s.r.o."
AGENDA = "Day 1: opening meeting, records review.\nDay 2: witness PRES calibration."
SUMMARY = "The laboratory operates competently; two observations were discussed."


# -- data ---------------------------------------------------------------------------------------


@pytest.fixture
def world(tenant_a):
    """A calibration lab with a Unicode name, two sampled lines, a lead on the team, an agenda
    and internal notes; a draft assessment."""
    cab, acc, ids = cal_setup(tenant_a, legal_name=CAB_NAME, lines=[CAL_LINE, MASS_LINE])
    lead = assessor(tenant_a, "lead@alpha.example.org", name="Lena Łukasiewicz",
                    organisation="Nordic Assessors AB", role=AuthorisationRole.lead_assessor)
    a = new_assessment(tenant_a, acc, sample=ids, internal_notes=SECRET)
    with tenant_scope(tenant_a):
        acc_row = db.session.execute(select(Accreditation).where(Accreditation.id == acc.id)
                                     ).scalar_one()
        acc_row.number = "CAL 7001/Ø"
        row = _assessment(a.id)
        services.update_agenda(row, AGENDA)
        team.add_member(row, lead.id, LEAD)
        commit()
    return {"cab": cab, "acc": acc, "ids": ids, "lead": lead, "assessment": a}


def _assessment(assessment_id: int) -> Assessment:
    return db.session.execute(select(Assessment).where(Assessment.id == assessment_id)
                              ).scalar_one()


def propose(tenant, assessment_id: int) -> None:
    """draft → team proposed (before any CAB user exists: no e-mail is sent)."""
    with tenant_scope(tenant):
        team.propose_team(_assessment(assessment_id))
        commit()


def issue(tenant, assessment_id: int, *, issue_it: bool = True) -> None:
    """From team proposed through an approved plan to a written (and issued) report."""
    with tenant_scope(tenant):
        a = _assessment(assessment_id)
        team.waive_objection_window(a, "The CAB accepted the team by letter.")
        team.confirm_team(a)
        services.record_risk_consideration(a, "Low risk: stable laboratory.")
        services.approve_plan(a)
        services.start_assessment(a)
        services.save_report(a, report_summary=SUMMARY, recommendation="maintain",
                             scope_recommended="Maintain the whole scope.")
        if issue_it:
            services.issue_report(a)
        commit()


def url(assessment_id: int, doc: str, *, portal: bool = False, slug: str = "alpha") -> str:
    return f"/{slug}/print/{'portal/' if portal else ''}assessments/{assessment_id}/{doc}"


def pdf_text(data: bytes) -> str:
    """The text of an uncompressed fpdf2 PDF: every shown string decoded through each font's
    ToUnicode map (strings in another font decode to noise, never to a false match)."""
    cmaps = [{int(src, 16): bytes.fromhex(dst.decode()).decode("utf-16-be", "replace")
              for src, dst in re.findall(rb"<([0-9A-F]{4})> <([0-9A-F]+)>", block)}
             for block in re.findall(rb"begincmap(.*?)endcmap", data, re.S)]
    assert cmaps, "no ToUnicode map: is compression still on?"
    strings = []
    for raw in re.findall(rb"\(((?:\\.|[^\\)])*)\) Tj", data, re.S):
        raw = re.sub(rb"\\(.)", lambda m: b"\r" if m.group(1) == b"r" else m.group(1), raw,
                     flags=re.S)
        strings.append([int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw) - 1, 2)])
    return "\n\n".join("\n".join("".join(cmap.get(c, "\ufffd") for c in codes)
                                  for codes in strings) for cmap in cmaps)


@pytest.fixture
def readable_pdf(monkeypatch):
    monkeypatch.setattr(printing, "COMPRESS", False)


def pages(data: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", data))


# -- the plan, staff side -----------------------------------------------------------------------


def test_staff_plan_shows_agenda_team_sample_and_locations_but_never_the_internal_notes(
        client, login_as, manager, world):
    login_as(manager)
    resp = client.get(url(world["assessment"].id, "plan"))
    assert resp.status_code == 200
    page = text(resp)
    assert CAB_NAME in page and "Alpha Accreditation Service" in page
    assert "CAL 7001/Ø" in page and "ISO/IEC 17025" in page
    assert "Day 2: witness PRES calibration." in page
    assert "Lena Łukasiewicz" in page and "Lead assessor" in page
    assert "Nordic Assessors AB" in page
    assert "Pressure gauges (hydraulic)" in page and "Weights" in page
    assert "Sampled scope lines (2)" in page
    assert "A – Head office" not in page and "Head office" in page and "1 Test Street" in page
    assert "DRAFT — not yet sent to the CAB" in page  # not proposed yet
    assert SECRET not in page
    assert "no-store" in resp.headers["Cache-Control"]
    assert f'href="{url(world["assessment"].id, "plan.pdf")}"' in page


def test_plan_pdf_is_an_inline_a4_pdf_with_the_plan_and_never_the_internal_notes(
        client, login_as, manager, world, readable_pdf):
    login_as(manager)
    a_id = world["assessment"].id
    resp = client.get(url(a_id, "plan.pdf"))
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"] == f'inline; filename="plan-CAL-7001-{a_id}.pdf"'
    assert "no-store" in resp.headers["Cache-Control"]
    data = resp.get_data()
    assert data.startswith(b"%PDF") and pages(data) >= 1
    assert b"/MediaBox [0 0 595.28 841.89]" in data  # A4 portrait
    body = pdf_text(data)
    assert CAB_NAME in body  # Unicode name through the bundled DejaVu font
    assert "Alpha Accreditation Service" in body and "Assessment plan" in body
    assert "Lena Łukasiewicz" in body and "Nordic Assessors AB" in body
    assert "Day 2: witness PRES calibration." in body
    assert "Sampled scope lines (2)" in body
    assert re.search(rf"Page 1/\n?{pages(data)}\b", body) and "Generated " in body
    assert SECRET not in body and SECRET.encode() not in data


def test_any_staff_role_reads_the_documents(client, login_as, decider, world):
    login_as(decider)
    a_id = world["assessment"].id
    for doc in ("plan", "report"):
        resp = client.get(url(a_id, doc))
        assert resp.status_code == 200, doc
        assert CAB_NAME in text(resp), doc
    for doc in ("plan.pdf", "report.pdf"):
        resp = client.get(url(a_id, doc))
        assert resp.status_code == 200, doc
        assert resp.mimetype == "application/pdf", doc
        assert resp.get_data().startswith(b"%PDF"), doc


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    resp = client.get(url(world["assessment"].id, "plan"))
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_a_remote_plan_gives_the_justification_but_not_the_ict_risk_note(
        client, login_as, tenant_a, manager, world):
    a = new_assessment(tenant_a, world["acc"], type="initial", mode="hybrid",
                       start=START + timedelta(days=100), end=END + timedelta(days=100),
                       remote_justification="Travel restrictions at site B",
                       ict_risk_note="ict-risk-marker: video link tested")
    login_as(manager)
    page = text(client.get(url(a.id, "plan")))
    assert "Hybrid" in page and "Travel restrictions at site B" in page
    assert "ict-risk-marker" not in page


def test_the_printing_loader_cannot_read_the_private_columns(app, tenant_a, world):
    from sqlalchemy.exc import InvalidRequestError

    a_id = world["assessment"].id
    with app.test_request_context(), tenant_scope(tenant_a):
        db.session.expunge_all()  # a fresh load, as in a request
        a = printing.load_assessment(a_id)
        assert a.agenda == AGENDA
        for name in ("internal_notes", "risk_consideration", "ict_risk_note"):
            with pytest.raises(InvalidRequestError):
                getattr(a, name)


# -- the CAB portal -----------------------------------------------------------------------------


def test_the_cab_reads_the_plan_once_the_team_is_proposed_never_before(
        client, login_as, tenant_a, world, readable_pdf):
    a_id = world["assessment"].id
    cab_user = create_cab_user(tenant_a, world["cab"], "quality@orsted.example.org")
    login_as(cab_user)
    assert client.get(url(a_id, "plan", portal=True)).status_code == 404
    assert client.get(url(a_id, "plan.pdf", portal=True)).status_code == 404

    # Proposed (straight to the state: the proposal e-mail's portal link is another page's).
    with tenant_scope(tenant_a):
        a = _assessment(a_id)
        a.status, a.team_notified_at = "team_proposed", utcnow()
        a.objection_window_ends_on = a.planned_start_on
        commit()
    resp = client.get(url(a_id, "plan", portal=True))
    assert resp.status_code == 200
    page = text(resp)
    assert "Lena Łukasiewicz" in page and "Day 1: opening meeting" in page
    assert "Weights" in page and "DRAFT" not in page
    assert "may object to any member of the team" in page
    assert SECRET not in page
    assert f'href="{url(a_id, "plan.pdf", portal=True)}"' in page
    pdf = client.get(url(a_id, "plan.pdf", portal=True))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    body = pdf_text(pdf.get_data())
    assert CAB_NAME in body and SECRET not in body and "DRAFT" not in body


def test_the_cab_reads_the_report_only_once_issued(client, login_as, tenant_a, world,
                                                    readable_pdf):
    a_id = world["assessment"].id
    propose(tenant_a, a_id)
    issue(tenant_a, a_id, issue_it=False)
    cab_user = create_cab_user(tenant_a, world["cab"], "quality@orsted.example.org")
    login_as(cab_user)
    for doc in ("report", "report.pdf"):
        assert client.get(url(a_id, doc, portal=True)).status_code == 404, doc
    with tenant_scope(tenant_a):
        services.issue_report(_assessment(a_id))
        commit()
    resp = client.get(url(a_id, "report", portal=True))
    assert resp.status_code == 200
    page = text(resp)
    assert SUMMARY in page and "Maintain the whole scope." in page
    assert "Maintain" in re.search(r'data-testid="recommendation">([^<]*)<', page).group(1)
    assert "Lena Łukasiewicz" in re.search(r'data-testid="lead">([^<]*)<', page).group(1)
    assert "Report issued" in page and "DRAFT" not in page
    assert "No findings were raised in this assessment." in page
    assert SECRET not in page
    pdf = client.get(url(a_id, "report.pdf", portal=True))
    assert pdf.status_code == 200
    assert pdf.headers["Content-Disposition"] == f'inline; filename="report-CAL-7001-{a_id}.pdf"'
    body = pdf_text(pdf.get_data())
    assert "Recommendation to the decision maker" in body and "Maintain" in body
    assert "DRAFT" not in body and SECRET not in body


def test_another_cabs_user_gets_404_on_every_document(client, login_as, tenant_a, world):
    a_id = world["assessment"].id
    propose(tenant_a, a_id)
    issue(tenant_a, a_id)
    other = create_cab(tenant_a, "Other Calibration Ltd")
    login_as(create_cab_user(tenant_a, other, "me@other.example.org"))
    for doc in ("plan", "plan.pdf", "report", "report.pdf"):
        resp = client.get(url(a_id, doc, portal=True))
        assert resp.status_code == 404, doc
        assert CAB_NAME not in resp.get_data(as_text=True)


def test_cab_users_get_404_on_the_staff_documents(client, login_as, tenant_a, world):
    a_id = world["assessment"].id
    propose(tenant_a, a_id)
    login_as(create_cab_user(tenant_a, world["cab"], "quality@orsted.example.org"))
    for doc in ("plan", "plan.pdf", "report", "report.pdf"):
        assert client.get(url(a_id, doc)).status_code == 404, doc


def test_another_tenant_gets_404(client, login_as, admin_b, world):
    login_as(admin_b)
    a_id = world["assessment"].id
    for doc in ("plan", "plan.pdf", "report", "report.pdf"):
        assert client.get(url(a_id, doc, slug="bravo")).status_code == 404, doc
        assert client.get(url(a_id, doc)).status_code == 404, doc


# -- the report, staff side ---------------------------------------------------------------------


def test_a_report_not_yet_issued_is_marked_draft_for_staff(client, login_as, tenant_a, manager,
                                                           world, readable_pdf):
    a_id = world["assessment"].id
    propose(tenant_a, a_id)
    issue(tenant_a, a_id, issue_it=False)
    login_as(manager)
    page = text(client.get(url(a_id, "report")))
    assert "DRAFT — not issued" in page and SUMMARY in page and "In progress" in page
    assert SECRET not in page
    body = pdf_text(client.get(url(a_id, "report.pdf")).get_data())
    assert "DRAFT — not issued" in body and "not issued" in body
    assert "No findings were raised in this assessment." in body
    assert SECRET not in body


def test_an_issued_report_shows_its_date_and_no_draft_mark(client, login_as, tenant_a, manager,
                                                           world):
    a_id = world["assessment"].id
    propose(tenant_a, a_id)
    issue(tenant_a, a_id)
    with tenant_scope(tenant_a):
        issued = _assessment(a_id).report_issued_at.date().isoformat()
    login_as(manager)
    page = text(client.get(url(a_id, "report")))
    assert "DRAFT" not in page
    assert re.search(r'data-testid="issued-on">([^<]*)<', page).group(1) == issued


# -- robustness and cost ------------------------------------------------------------------------


def test_text_outside_the_font_and_very_long_words_do_not_break_the_pdf(
        client, login_as, tenant_a, manager, world):
    a_id = world["assessment"].id
    with tenant_scope(tenant_a):
        services.update_agenda(_assessment(a_id),
                               "東京 visit\tthen 😀 and\r\nhttps://example.org/" + "x" * 400)
        commit()
    login_as(manager)
    resp = client.get(url(a_id, "plan.pdf"))
    assert resp.status_code == 200 and resp.get_data().startswith(b"%PDF")


def test_wrapped_lines_never_run_past_the_width(app, tenant_a):
    with app.test_request_context(), tenant_scope(tenant_a):
        pdf = printing.Document(ab_name="AB", title="T", generated="now")
        pdf.add_page()
        text_ = ("Pressure gauges (hydraulic) " * 20 + "y" * 300 + " Łódź Ørsted").strip()
        lines = pdf.wrap(text_, 60)
        assert len(lines) > 5
        assert all(pdf.width_of(line) <= 60 + 1e-6 for line in lines)
        assert " ".join(lines).replace(" ", "") == text_.replace(" ", "")


def _sample_lines(tenant, acc_id: int, assessment_id: int, n: int) -> None:
    """``n`` sampled lines, written straight to the tables (fast for big samples)."""
    with tenant_scope(tenant):
        acc = db.session.execute(select(Accreditation).where(Accreditation.id == acc_id)
                                 ).scalar_one()
        items = [ScopeItem(cab_id=acc.cab_id, accreditation_id=acc.id, position=100 + i,
                           status="applied", fields={}, summary=f"Bulk line {i}")
                 for i in range(n)]
        db.session.add_all(items)
        db.session.flush()
        db.session.add_all([AssessmentItem(cab_id=acc.cab_id, assessment_id=assessment_id,
                                           scope_item_id=it.id) for it in items])
        commit()


# Four queries of sign-in and tenant resolution, then the plan's four or the report's three
# (the assessment, the team, the findings).
@pytest.mark.parametrize("doc,bound", [("plan", 8), ("plan.pdf", 8), ("report", 7),
                                       ("report.pdf", 7)])
def test_documents_run_the_same_few_queries_for_3_or_300_sampled_lines(
        client, login_as, tenant_a, manager, count_queries, assert_max_queries, doc, bound):
    cab_small, acc_small, _ = cal_setup(tenant_a, legal_name="Small Lab Ltd")
    cab_big, acc_big, _ = cal_setup(tenant_a, legal_name="Big Lab Ltd")
    small = new_assessment(tenant_a, acc_small)
    big = new_assessment(tenant_a, acc_big, start=START + timedelta(days=10),
                         end=END + timedelta(days=10))  # the lead is on both
    _sample_lines(tenant_a, acc_small.id, small.id, 3)
    _sample_lines(tenant_a, acc_big.id, big.id, 300)
    lead = assessor(tenant_a, "lead@alpha.example.org", role=AuthorisationRole.lead_assessor)
    with tenant_scope(tenant_a):
        for a in (small, big):
            team.add_member(_assessment(a.id), lead.id, LEAD)
        commit()
    small_url, big_url = url(small.id, doc), url(big.id, doc)
    login_as(manager)
    client.get(small_url)  # warm-up: first-request work is not the page's
    with assert_max_queries(bound) as q_small:
        assert client.get(small_url).status_code == 200
    with count_queries() as q_big:
        resp = client.get(big_url)
        assert resp.status_code == 200
    assert q_big.count == q_small.count, "\n".join(q_big.statements)
    if doc == "plan":
        assert "Bulk line 299" in text(resp) and "Sampled scope lines (300)" in text(resp)
