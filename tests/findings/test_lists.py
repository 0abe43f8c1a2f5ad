"""The staff lists of findings: the list and its CSV, the managers' dashboard with the proposed
sanctions, and the grading settings — what each role sees, the filters, the numbers, the
refusals, tenant isolation and bounded SQL."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from accreditor.cabs.models import Cab
from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit, utcnow
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.extensions import db
from accreditor.findings import services
from accreditor.findings.models import Finding, FindingGrade, SanctionProposal
from accreditor.tenants import services as tenant_services
from accreditor.tenants.models import TenantPolicy
from tests.assessments.assessment_helpers import new_assessment
from tests.factories import create_member
from tests.findings.conftest import STANDARD, build_world

TODAY = date.today()
LIST = "/alpha/findings/"
DASHBOARD = "/alpha/findings/dashboard"
GRADING = "/alpha/settings/grading"


# -- helpers ------------------------------------------------------------------------------------


def add(world, seq: int, *, status: str = "open", grade: str = "major", assessment_id=None,
        round: int = 0, response_due: date | None = None, evidence_due: date | None = None,
        issued_days_ago: int = 10, closed_days_ago: int | None = None,
        days_to_close: int | None = None, statement: str | None = None,
        clause: str = "6.4") -> Finding:
    """A finding inserted as it stands after the services ran (issued, answered or closed)."""
    world.grade(grade)  # the preset's grades exist
    with tenant_scope(world.tenant):
        g = db.session.execute(select(FindingGrade).where(
            FindingGrade.key == grade, FindingGrade.is_active)).scalar_one()
        issued = status not in ("draft", "recorded", "withdrawn")
        f = Finding(
            cab_id=world.cab.id, assessment_id=assessment_id or world.assessment.id,
            accreditation_id=world.acc.id, seq=seq, grade_id=g.id, grade_label=g.label,
            severity=g.severity, standard=STANDARD, clause=clause,
            statement=statement or f"Statement of finding {seq}.",
            objective_evidence="Records seen.", location_codes=[], status=status,
            raised_by_id=world.lead.id, raised_as="lead", round=round,
            issued_at=utcnow() - timedelta(days=issued_days_ago) if issued else None,
            response_due_on=(response_due or TODAY + timedelta(days=20)) if issued else None,
            evidence_due_on=(evidence_due or TODAY + timedelta(days=60)) if issued else None,
            closed_at=(utcnow() - timedelta(days=closed_days_ago or 0)
                       if status == "closed" else None),
            days_to_close=days_to_close)
        db.session.add(f)
        commit()
        return f


def ref(f: Finding) -> str:
    return f"{f.assessment_id}-{f.seq}"


class _Rows(HTMLParser):
    """Cell texts of the table rows marked ``data-testid=<testid>``."""

    def __init__(self, testid: str):
        super().__init__()
        self.testid, self.rows, self.depth, self.cell = testid, [], 0, None

    def handle_starttag(self, tag, attrs):
        if tag == "tr" and dict(attrs).get("data-testid") == self.testid:
            self.rows.append([])
            self.depth = 1
        elif self.depth and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if self.depth and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif self.depth and tag == "tr":
            self.depth = 0

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def rows(html: str, testid: str) -> list[list[str]]:
    parser = _Rows(testid)
    parser.feed(html)
    return parser.rows


def listed(client, url: str = LIST) -> list[str]:
    """The references listed, in order."""
    resp = client.get(url)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return [r[0] for r in rows(resp.get_data(as_text=True), "finding-row")]


def shown(html: str, testid: str) -> str:
    m = re.search(rf'data-testid="{testid}">([^<]*)<', html)
    assert m, testid
    return m.group(1).strip()


# -- the list -----------------------------------------------------------------------------------


def test_an_assessor_sees_only_their_assessments_findings_answers_to_review_first(
        world, client, login_as, tenant_a):
    later = add(world, 1, response_due=TODAY + timedelta(days=5))
    answered = add(world, 2, status="responded", round=1)
    other = new_assessment(tenant_a, world.acc)  # the assessor is not on its team
    elsewhere = add(world, 1, assessment_id=other.id, statement="Not for the assessor.")

    login_as(world.assessor)
    assert listed(client) == [ref(answered), ref(later)]
    page = client.get(LIST).get_data(as_text=True)
    assert "answers to review and drafts to confirm come first" in page
    assert listed(client, LIST + "?review=1") == [ref(answered)]

    login_as(world.manager)  # managers list the whole tenant, by due date
    assert listed(client) == [ref(later), ref(elsewhere), ref(answered)]
    assert listed(client, LIST + "?review=1") == []  # not on the team, not the case manager


def test_an_observer_has_nothing_awaiting_review_but_sees_the_findings(world, client, login_as):
    answered = add(world, 1, status="responded", round=1)
    login_as(world.observer)
    assert listed(client) == [ref(answered)]
    assert listed(client, LIST + "?review=1") == []


def test_filters_show_and_hide_rows(world, client, login_as):
    overdue = add(world, 1, response_due=TODAY - timedelta(days=3))
    minor = add(world, 2, grade="minor", status="plan_accepted", round=1)
    answered = add(world, 3, status="responded", round=1)
    closed = add(world, 4, status="closed", round=1, closed_days_ago=1, days_to_close=9)
    draft = add(world, 5, status="draft")
    login_as(world.manager)
    everything = {ref(f) for f in (overdue, minor, answered, closed, draft)}
    assert set(listed(client)) == everything
    assert set(listed(client, LIST + "?status=any_open")) == {ref(overdue), ref(minor),
                                                              ref(answered)}
    assert listed(client, LIST + "?status=closed") == [ref(closed)]
    assert listed(client, LIST + "?status=draft") == [ref(draft)]
    assert listed(client, LIST + f"?grade={world.grade('minor')}") == [ref(minor)]
    assert listed(client, LIST + "?severity=minor") == [ref(minor)]
    assert listed(client, LIST + "?overdue=1") == [ref(overdue)]
    assert set(listed(client, LIST + f"?cab_id={world.cab.id}")) == everything
    # An unknown value (an old or edited link) is dropped; the others still apply.
    assert listed(client, LIST + "?status=bogus&severity=minor") == [ref(minor)]
    assert set(listed(client, LIST + "?grade=Nope&cab_id=999999")) == everything
    # Sorted by grade, most severe first; by reference.
    by_grade = listed(client, LIST + "?sort=grade")
    assert by_grade.index(ref(minor)) == len(by_grade) - 1
    assert listed(client, LIST + "?sort=reference") == sorted(
        everything, key=lambda r: int(r.split("-")[1]))


def test_two_cabs_filter_by_cab_and_sort_by_cab_or_issue_date(world, client, login_as,
                                                               tenant_a):
    calm = build_world(tenant_a, prefix="calm-", legal_name="Calm Calibration Ltd")
    p1 = add(world, 1, response_due=TODAY + timedelta(days=5), issued_days_ago=30)
    p2 = add(world, 2, response_due=TODAY + timedelta(days=25), issued_days_ago=2)
    c1 = add(calm, 1, response_due=TODAY + timedelta(days=10), issued_days_ago=10)
    c2 = add(calm, 2, response_due=TODAY + timedelta(days=20), issued_days_ago=20)
    login_as(world.manager)
    assert listed(client) == [ref(p1), ref(c1), ref(c2), ref(p2)]  # by due date
    assert listed(client, LIST + f"?cab_id={calm.cab.id}") == [ref(c1), ref(c2)]
    assert listed(client, LIST + f"?cab_id={world.cab.id}") == [ref(p1), ref(p2)]
    html = client.get(LIST + f"?cab_id={calm.cab.id}").get_data(as_text=True)
    assert [r[1] for r in rows(html, "finding-row")] == ["Calm Calibration Ltd"] * 2
    # By CAB name (then reference); by issue date, newest first.
    assert listed(client, LIST + "?sort=cab") == [ref(c1), ref(c2), ref(p1), ref(p2)]
    assert listed(client, LIST + "?sort=issued") == [ref(p2), ref(c1), ref(c2), ref(p1)]
    assert listed(client, LIST + f"?cab_id={world.cab.id}&sort=issued") == [ref(p2), ref(p1)]


def test_the_list_shows_due_date_overdue_badge_and_links(world, client, login_as):
    late = add(world, 1, response_due=TODAY - timedelta(days=3))
    login_as(world.manager)
    html = client.get(LIST).get_data(as_text=True)
    (row,) = rows(html, "finding-row")
    assert row[:4] == [ref(late), "Precision Metrology Ltd", "Major nonconformity major",
                       f"{STANDARD} 6.4"]
    assert (TODAY - timedelta(days=3)).isoformat() in row[5] and "overdue" in row[5]
    assert f'href="/alpha/findings/{late.id}"' in html


def test_the_list_pages_by_fifty(world, client, login_as):
    for seq in range(1, 53):
        add(world, seq)
    login_as(world.manager)
    assert len(listed(client)) == 50
    assert len(listed(client, LIST + "?page=2")) == 2
    assert "Page 1 of 2" in client.get(LIST).get_data(as_text=True)


# -- CSV ----------------------------------------------------------------------------------------


def test_the_csv_has_the_filtered_rows_and_neutralises_formulas(world, client, login_as):
    risky = add(world, 1, statement='=HYPERLINK("http://evil.example","x")',
                response_due=TODAY - timedelta(days=1))
    add(world, 2, statement="@SUM(A1)")  # not overdue: filtered out
    login_as(world.manager)
    resp = client.get("/alpha/findings/export.csv?overdue=1")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in resp.headers["Content-Disposition"]
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeff")
    data = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r["reference"] for r in data] == [ref(risky)]
    (row,) = data
    assert row["statement"] == "'" + '=HYPERLINK("http://evil.example","x")'
    assert row["cab"] == "Precision Metrology Ltd"
    assert row["due_on"] == (TODAY - timedelta(days=1)).isoformat()
    assert row["overdue"] == "yes"
    assert row["issued_on"] == (utcnow() - timedelta(days=10)).date().isoformat()
    assert "@SUM" not in text


def test_an_assessors_csv_has_only_their_findings(world, client, login_as, tenant_a):
    mine = add(world, 1)
    other = new_assessment(tenant_a, world.acc)
    add(world, 1, assessment_id=other.id)
    login_as(world.assessor)
    data = list(csv.DictReader(io.StringIO(
        client.get("/alpha/findings/export.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["reference"] for r in data] == [ref(mine)]


# -- dashboard ----------------------------------------------------------------------------------


def test_the_dashboard_counts_by_grade_overdue_and_average_days(world, client, login_as):
    add(world, 1)  # major, open
    add(world, 2, response_due=TODAY - timedelta(days=1))  # major, open, overdue
    add(world, 3, status="closed", round=1, closed_days_ago=5, days_to_close=10)
    add(world, 4, status="closed", round=1, closed_days_ago=5, days_to_close=20)
    add(world, 5, status="closed", round=1, closed_days_ago=400, issued_days_ago=470,
        days_to_close=70)  # over a year ago: not in the CAB table's 12 months
    add(world, 6, grade="minor", status="plan_accepted", round=1,
        evidence_due=TODAY - timedelta(days=2))  # minor, overdue
    add(world, 7, grade="minor", status="closed", round=1, closed_days_ago=3, days_to_close=40)
    add(world, 8, grade="observation", status="closed")  # never counted
    add(world, 9, status="draft")  # not issued: not counted
    login_as(world.manager)
    resp = client.get(DASHBOARD)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert shown(html, "total-open") == "3"
    assert shown(html, "total-overdue") == "2"
    assert shown(html, "avg-days") == "35"  # (10 + 20 + 70 + 40) / 4
    assert rows(html, "grade-row") == [
        ["Major nonconformity major", "2", "1", "3", "33"],  # (10 + 20 + 70) / 3
        ["Minor nonconformity minor", "1", "1", "1", "40"],
    ]
    assert rows(html, "cab-row") == [["Precision Metrology Ltd", "3", "2", "3", "23"]]


def test_days_to_close_are_counted_by_the_review_and_averaged_on_the_dashboard(
        world, client, login_as):
    f = world.raise_finding("major")
    world.issue()
    world.respond(f)
    issued_on = world.load(f.id).issued_at.date()
    closed = world.review(f, True, today=issued_on + timedelta(days=12))
    assert (closed.status, closed.days_to_close) == ("closed", 12)
    login_as(world.manager)
    html = client.get(DASHBOARD).get_data(as_text=True)
    assert shown(html, "avg-days") == "12"
    assert rows(html, "grade-row") == [["Major nonconformity major", "0", "0", "1", "12"]]
    assert rows(html, "cab-row") == [["Precision Metrology Ltd", "0", "0", "1", "12"]]


def test_the_dashboard_orders_cabs_by_overdue(world, client, login_as, tenant_a):
    calm = build_world(tenant_a, prefix="calm-", legal_name="Calm Calibration Ltd")
    add(world, 1)
    add(calm, 1)
    add(calm, 2, response_due=TODAY - timedelta(days=1))
    login_as(world.manager)
    html = client.get(DASHBOARD).get_data(as_text=True)
    assert [r[0] for r in rows(html, "cab-row")] == ["Calm Calibration Ltd",
                                                     "Precision Metrology Ltd"]


def test_the_dashboard_is_for_managers_and_admins(world, client, login_as, tenant_a):
    login_as(world.assessor)
    assert client.get(DASHBOARD).status_code == 403
    decider = create_member(tenant_a, "dm@alpha.example.org", [Role.decision_maker])
    login_as(decider)
    assert client.get(DASHBOARD).status_code == 403
    login_as(world.cab_user)
    assert client.get(DASHBOARD).status_code == 404
    assert client.get(LIST).status_code == 404
    assert client.get("/alpha/findings/export.csv").status_code == 404
    admin = create_member(tenant_a, "boss@alpha.example.org", [Role.admin])
    login_as(admin)
    assert client.get(DASHBOARD).status_code == 200


# -- proposed sanctions -------------------------------------------------------------------------


def propose(world, finding: Finding) -> SanctionProposal:
    with tenant_scope(world.tenant):
        p = SanctionProposal(
            cab_id=world.cab.id, accreditation_id=world.acc.id, finding_id=finding.id,
            kind="suspension", source="overdue_finding", scope_item_ids=[],
            effective_on=TODAY, due_on=TODAY, reason="Finding still open after the grace period.")
        db.session.add(p)
        commit()
        return p


def load_proposal(world, ident: int) -> SanctionProposal:
    with tenant_scope(world.tenant):
        db.session.expire_all()
        return db.session.execute(select(SanctionProposal).where(
            SanctionProposal.id == ident)).scalar_one()


def test_dismissing_a_proposal_needs_a_reason_and_is_audited(world, client, login_as):
    f = add(world, 1, evidence_due=TODAY - timedelta(days=40))
    p = propose(world, f)
    login_as(world.manager)
    html = client.get(DASHBOARD).get_data(as_text=True)
    (row,) = rows(html, "proposal-row")
    assert row[0] == "Precision Metrology Ltd" and ref(f) in row[2]
    assert row[3] == TODAY.isoformat() and "grace period" in row[4]
    assert f'href="/alpha/findings/{f.id}"' in html

    url = f"/alpha/findings/proposals/{p.id}/dismiss"
    resp = client.post(url, data={"reason": "  "})
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert re.search(rf'id="reason-{p.id}-errors"[^>]*>Give the reason for not proposing the '
                     r"sanction\.", body)
    assert load_proposal(world, p.id).status == "proposed"

    resp = client.post(url, data={"reason": "Evidence arrived by post; being reviewed."})
    assert resp.status_code == 302
    saved = load_proposal(world, p.id)
    assert (saved.status, saved.resolution) == ("dismissed",
                                                "Evidence arrived by post; being reviewed.")
    with tenant_scope(world.tenant):
        event = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "sanction_proposal.dismissed")).scalar_one()
        assert event.object_id == str(p.id)
    assert "No proposed sanctions await you." in client.get(DASHBOARD).get_data(as_text=True)
    # Dismissed already: refused, said at the top.
    resp = client.post(url, data={"reason": "Again."})
    assert resp.status_code == 409
    assert "already been dealt with" in resp.get_data(as_text=True)


def test_only_managers_dismiss_and_another_tenants_proposal_is_a_404(
        world, client, login_as, tenant_b):
    p = propose(world, add(world, 1))
    login_as(world.assessor)
    assert client.post(f"/alpha/findings/proposals/{p.id}/dismiss",
                       data={"reason": "No."}).status_code == 403
    b = build_world(tenant_b, prefix="b-", legal_name="Bravo Metrology")
    pb = propose(b, add(b, 1))
    login_as(world.manager)
    assert client.post(f"/alpha/findings/proposals/{pb.id}/dismiss",
                       data={"reason": "Not ours."}).status_code == 404
    assert load_proposal(b, pb.id).status == "proposed"


# -- grading settings ---------------------------------------------------------------------------


def grade_of(tenant, key: str) -> FindingGrade:
    with tenant_scope(tenant):
        services.active_grades()  # the preset is copied in on first use
        commit()
        db.session.expire_all()
        return db.session.execute(select(FindingGrade).where(
            FindingGrade.key == key, FindingGrade.is_active)).scalar_one()


def grade_data(grade: FindingGrade, **changes) -> dict:
    def days(value):
        return "" if value is None else str(value)

    values = {"label": grade.label, "description": grade.description or "",
              "response_due_days": days(grade.response_due_days),
              "evidence_due_days": days(grade.evidence_due_days),
              "closure_requires_evidence": "evidence" if grade.closure_requires_evidence
              else "plan", **changes}
    data = {f"g{grade.id}-{k}": v for k, v in values.items() if v is not None}
    if grade.verify_at_next_visit and "verify_at_next_visit" not in changes:
        data[f"g{grade.id}-verify_at_next_visit"] = "y"
    return {"grade_id": str(grade.id), **data}


def test_the_grading_page_shows_grades_with_defaults_and_where_the_scheme_changes(
        world, client, login_as, admin_a):
    login_as(admin_a)
    resp = client.get(GRADING)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    major = rows(html, "grade-major")[0]
    assert major[2:] == ["default (30 days)", "default (90 days)", "Needs accepted evidence",
                         "no"]
    minor = rows(html, "grade-minor")[0]
    assert minor[4:] == ["An accepted plan suffices", "yes"]
    assert "Settings page" in html and "keep the grade" in html
    assert 'href="/alpha/settings"' in html
    # The settings page links here.
    assert 'href="/alpha/settings/grading"' in client.get("/alpha/settings").get_data(
        as_text=True)


def test_an_admin_changes_a_grades_days_saved_and_audited(world, client, login_as, admin_a):
    f = add(world, 1)  # recorded with 30 / 90 days
    login_as(admin_a)
    major = grade_of(world.tenant, "major")
    resp = client.post(GRADING, data=grade_data(major, response_due_days="14",
                                                evidence_due_days="45"))
    assert resp.status_code == 302
    major = grade_of(world.tenant, "major")
    assert (major.response_due_days, major.evidence_due_days) == (14, 45)
    with tenant_scope(world.tenant):
        event = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "finding_grade.updated")).scalar_one()
        assert event.changes["response_due_days"] == [None, 14]
        assert db.session.execute(select(Finding.grade_label).where(
            Finding.id == f.id)).scalar_one() == "Major nonconformity"
    assert rows(client.get(GRADING).get_data(as_text=True), "grade-major")[0][2:4] == [
        "14 days", "45 days"]


def test_evidence_cannot_be_due_before_the_response(world, client, login_as, admin_a):
    login_as(admin_a)
    major = grade_of(world.tenant, "major")
    resp = client.post(GRADING, data=grade_data(major, response_due_days="60",
                                                evidence_due_days="20"))
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert re.search(rf'id="g{major.id}-evidence_due_days-errors"[^>]*>Evidence cannot be due '
                     r"before the response\.", html)
    assert grade_of(world.tenant, "major").response_due_days is None
    # Against the tenant's default too: 100 days to respond, evidence default 90.
    resp = client.post(GRADING, data=grade_data(major, response_due_days="100"))
    assert resp.status_code == 400
    resp = client.post(GRADING, data=grade_data(major, response_due_days="abc"))
    assert resp.status_code == 400
    assert "Give a whole number of days." in resp.get_data(as_text=True)
    resp = client.post(GRADING, data=grade_data(major, label=""))
    assert resp.status_code == 400
    assert "Give the grade a name." in resp.get_data(as_text=True)


def test_a_critical_grade_cannot_drop_the_evidence_rule(world, client, login_as, admin_a,
                                                        tenant_a):
    with tenant_scope(tenant_a):
        tenant_services.update_policy(TenantPolicy.current(), grading_scheme="ilac_g20")
        commit()
    login_as(admin_a)
    cat1 = grade_of(tenant_a, "cat1")
    resp = client.post(GRADING, data=grade_data(cat1, closure_requires_evidence="plan"))
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert re.search(rf'id="g{cat1.id}-closure_requires_evidence-errors"[^>]*>A critical or '
                     r"major finding always needs accepted evidence to close", html)
    assert grade_of(tenant_a, "cat1").closure_requires_evidence is True


def test_a_major_grade_cannot_close_on_a_plan_alone(world, client, login_as, admin_a):
    major = grade_of(world.tenant, "major") if world.grade("major") else None
    login_as(admin_a)
    resp = client.post(GRADING, data=grade_data(major, closure_requires_evidence="plan"))
    assert resp.status_code == 400
    assert "(rule 15)" in resp.get_data(as_text=True)
    assert grade_of(world.tenant, "major").closure_requires_evidence is True


def test_managers_read_the_grades_others_are_refused(world, client, login_as, tenant_b,
                                                    admin_a):
    world.grade("major")
    major = grade_of(world.tenant, "major")
    login_as(world.manager)
    html = client.get(GRADING).get_data(as_text=True)
    assert "Only an AB administrator changes the grades." in html
    assert client.post(GRADING, data=grade_data(major, response_due_days="10")
                       ).status_code == 403
    assert grade_of(world.tenant, "major").response_due_days is None
    login_as(world.assessor)
    assert client.get(GRADING).status_code == 403
    login_as(world.cab_user)
    assert client.get(GRADING).status_code == 404
    b = build_world(tenant_b, prefix="b-")
    b.grade("major")
    b_major = grade_of(tenant_b, "major")
    login_as(admin_a)
    assert client.post(GRADING, data=grade_data(b_major, response_due_days="10")
                       ).status_code == 404
    assert grade_of(tenant_b, "major").response_due_days is None


# -- isolation and bounded SQL ------------------------------------------------------------------


def test_another_tenants_findings_never_appear(world, client, login_as, tenant_b):
    add(world, 1)
    b = build_world(tenant_b, prefix="b-", legal_name="Bravo Metrology")
    add(b, 1, statement="Bravo's own finding.", response_due=TODAY - timedelta(days=1))
    propose(b, add(b, 2))
    login_as(world.manager)
    for url in (LIST, LIST + "?overdue=1", DASHBOARD, "/alpha/findings/export.csv"):
        body = client.get(url).get_data(as_text=True)
        assert "Bravo" not in body, url
    html = client.get(DASHBOARD).get_data(as_text=True)
    assert shown(html, "total-open") == "1"
    assert shown(html, "total-overdue") == "0"


@pytest.mark.parametrize("who", ["manager", "assessor"])
def test_list_and_dashboard_statements_do_not_grow_with_findings(
        world, client, login_as, count_queries, who, tenant_a):
    def counts() -> tuple[int, ...]:
        out = []
        urls = [LIST, LIST + "?status=any_open&overdue=1&sort=cab", "/alpha/findings/export.csv"]
        if who == "manager":
            urls.append(DASHBOARD)
        for url in urls:
            assert client.get(url).status_code == 200  # warm-up
            with count_queries() as q:
                resp = client.get(url)
                resp.get_data()  # the CSV is streamed: its query runs as it is read
                assert resp.status_code == 200
            out.append(q.count)
        return tuple(out)

    for seq in range(1, 4):
        add(world, seq, status="responded" if seq == 2 else "open")
    propose(world, add(world, 4))
    login_as(getattr(world, who))
    small = counts()
    other = build_world(tenant_a, prefix="n-", legal_name="Numerous Labs Ltd")
    for seq in range(5, 41):
        add(world if seq % 2 else other, seq,
            response_due=TODAY - timedelta(days=seq % 3),
            status=("closed" if seq % 5 == 0 else "open"), round=1 if seq % 5 == 0 else 0,
            closed_days_ago=seq, days_to_close=seq)
    for seq in range(41, 45):
        propose(world, add(world, seq))
    large = counts()
    print(f"\n{who}: statements small {small}, large {large}")
    assert small == large
    assert max(large) <= 11


def test_findings_keep_their_grade_after_a_scheme_change_or_a_rename(world, client, login_as,
                                                                     tenant_a):
    old = add(world, 1)
    major_id = world.grade("major")
    with tenant_scope(tenant_a):
        tenant_services.update_policy(TenantPolicy.current(), grading_scheme="ukas")
        commit()
        services.active_grades()
    new = add(world, 2, grade="improvement_action")
    with tenant_scope(tenant_a):  # a current grade renamed: its findings keep their label
        services.update_grade(grade_of(tenant_a, "improvement_action"), label="Must fix")
        commit()
    login_as(world.manager)
    html = client.get(DASHBOARD).get_data(as_text=True)
    assert [r[0] for r in rows(html, "grade-row")] == ["Improvement action major",
                                                       "Major nonconformity major"]
    page = client.get(LIST).get_data(as_text=True)
    assert f'<option value="{major_id}">Major nonconformity (former scheme)</option>' in page
    assert ">Must fix</option>" in page
    assert listed(client, LIST + f"?grade={major_id}") == [ref(old)]
    renamed = world.grade("improvement_action")
    assert listed(client, LIST + f"?grade={renamed}") == [ref(new)]


def test_the_forms_carry_csrf_tokens_the_server_accepts(app, client, login_as, world, admin_a,
                                                        monkeypatch):
    p = propose(world, add(world, 1))

    def token(body: str, name: str) -> str:
        return re.search(rf'name="{re.escape(name)}"(?: type="hidden")? value="([^"]+)"',
                         body).group(1)

    login_as(world.manager)  # the login form's own token is not what this test is about
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    url = f"/alpha/findings/proposals/{p.id}/dismiss"
    assert client.post(url, data={"reason": "No token."}).status_code == 400
    assert load_proposal(world, p.id).status == "proposed"
    body = client.get(DASHBOARD).get_data(as_text=True)
    assert client.post(url, data={"reason": "Handled by phone.",
                                  "csrf_token": token(body, "csrf_token")}).status_code == 302
    assert load_proposal(world, p.id).status == "dismissed"

    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    login_as(admin_a)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    major = grade_of(world.tenant, "major")
    body = client.get(GRADING).get_data(as_text=True)
    data = grade_data(major, response_due_days="21")
    assert client.post(GRADING, data=data).status_code == 400
    data[f"g{major.id}-csrf_token"] = token(body, f"g{major.id}-csrf_token")
    assert client.post(GRADING, data=data).status_code == 302
    assert grade_of(world.tenant, "major").response_due_days == 21


def test_a_grade_of_a_former_scheme_cannot_be_changed(world, client, login_as, admin_a,
                                                      tenant_a):
    old = grade_of(tenant_a, "major")
    with tenant_scope(tenant_a):
        tenant_services.update_policy(TenantPolicy.current(), grading_scheme="nata")
        commit()
    login_as(admin_a)
    resp = client.post(GRADING, data=grade_data(old, response_due_days="10"))
    assert resp.status_code == 409
    assert "no longer in use" in resp.get_data(as_text=True)
    with tenant_scope(tenant_a):
        assert db.session.execute(select(FindingGrade.response_due_days).where(
            FindingGrade.id == old.id)).scalar_one() is None


def test_a_case_manager_has_their_cabs_answers_awaiting_review(world, client, login_as,
                                                               tenant_a):
    answered = add(world, 1, status="responded", round=1)
    add(world, 2)
    with tenant_scope(tenant_a):
        db.session.execute(select(Cab).where(Cab.id == world.cab.id)).scalar_one().manager_id = (
            world.manager.id)
        commit()
    login_as(world.manager)
    assert listed(client, LIST + "?review=1") == [ref(answered)]


def test_the_menu_leads_staff_to_findings_and_managers_to_the_dashboard(client, login_as,
                                                                        world):
    from tests.assessments.test_navigation import menu

    login_as(world.manager)
    nav = menu(client)
    for link in ("/alpha/findings/", "/alpha/findings/dashboard", "/alpha/settings/grading"):
        assert f'href="{link}"' in nav, link
        assert client.get(link).status_code == 200, link
    login_as(world.lead)
    nav = menu(client)
    assert 'href="/alpha/findings/"' in nav and "/alpha/findings/dashboard" not in nav
    login_as(world.cab_user)
    nav = menu(client)
    assert 'href="/alpha/portal/findings/"' in nav and 'href="/alpha/findings/"' not in nav


def test_an_experts_draft_awaits_the_assessors_confirmation_in_their_list(world, client,
                                                                         login_as):
    later = add(world, 1, response_due=TODAY + timedelta(days=5))
    draft = add(world, 2, status="draft")
    login_as(world.assessor)
    assert listed(client) == [ref(draft), ref(later)]
    assert listed(client, LIST + "?review=1") == [ref(draft)]
    login_as(world.expert)  # the expert who raised it confirms nothing
    assert listed(client, LIST + "?review=1") == []
