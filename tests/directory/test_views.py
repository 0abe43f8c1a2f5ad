"""The public directory pages, read anonymously: what they show, what they never show, the
retention of withdrawn entries, numbers with dots and dashes, PDFs, and bounded queries."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from werkzeug.datastructures import FileStorage

from accreditor.cabs import services as cab_services
from accreditor.cabs.models import Cab
from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit
from accreditor.core.tenancy import tenant_scope
from accreditor.directory import services
from accreditor.directory.models import DirectoryEntry
from accreditor.documents.services import store_upload
from accreditor.extensions import db
from accreditor.scopes.models import ScopeItem
from tests.directory.conftest import (
    TODAY,
    accredited,
    big,
    entry_of,
    item_ids,
    load_acc,
    months_ago,
    page,
    suspend,
    withdraw,
)
from tests.documents.helpers import PDF
from tests.factories import create_cab_user


def test_the_entry_page_shows_what_the_ab_publishes(tenant_a, client):
    acc = accredited(tenant_a)
    body = page(client, f"/alpha/directory/{acc.number}")
    for text in ("Precision Metrology Ltd", "Trading as PML Calibration", "Head office",
                 "Annex", "1 Test Street, Town", "Alpha Accreditation Service", acc.number,
                 "ISO/IEC 17025:2017", "Accredited", f"Issue 1 of {(TODAY - timedelta(days=400))}",
                 "the PDF is being prepared", "Pat Public", "pat@pml.example.org",
                 "is the authoritative statement", "Pressure gauges type 3", "3 lines."):
        assert text in body, text
    assert "Download the schedule" not in body
    assert 'href="/alpha/directory/"' in body


def test_a_partial_suspension_is_shown_with_its_lines(tenant_a, client):
    acc = accredited(tenant_a)
    suspend(tenant_a, acc.id, item_ids(tenant_a, acc.id)[1:2])
    body = page(client, f"/alpha/directory/{acc.number}")
    assert "Accredited (partially suspended)" in body
    assert "1 of 3 scope lines are suspended" in body
    assert "Suspension: imposed" in body
    assert body.count('class="table-warning"') == 1
    only = page(client, f"/alpha/directory/{acc.number}?lines=suspended")
    assert "Showing the 1 suspended lines" in only
    assert "Pressure gauges type 2" in only and "Pressure gauges type 1" not in only


def test_nothing_private_reaches_the_public_page(tenant_a, client):
    acc = accredited(tenant_a, lines=2)
    with tenant_scope(tenant_a):
        db.session.execute(update(Cab).where(Cab.id == acc.cab_id).values(
            related_bodies="SECRET-RELATED body", consultants_used="SECRET-CONSULTANT",
            registration_number="SECRET-REG-NO"))
        # Lines applied for (an extension), refused and removed are not part of the scope.
        db.session.add_all([
            ScopeItem(cab_id=acc.cab_id, accreditation_id=acc.id, position=10 + i,
                      status=status, fields={}, summary=f"SECRET-{status.upper()} line")
            for i, status in enumerate(("applied", "refused", "reduced"))])
        commit()
    suspend(tenant_a, acc.id, None)  # the decision's rationale is internal
    body = page(client, f"/alpha/directory/{acc.number}")
    for secret in ("SECRET", "Ivy Internal", "ivy@pml.example.org", "Decider"):
        assert secret not in body, secret
    assert "Pat Public" in body and "2 lines." in body


def test_nothing_private_reaches_the_page_through_a_real_decision(tenant_a, client):
    """Through ``record_decision``: the team, the finding and the rationale stay internal."""
    from tests.decisions.conftest import decide
    from tests.factories import create_member
    from tests.findings.conftest import build_world

    world = build_world(tenant_a)
    world.raise_finding("minor", statement="SECRET-FINDING the balance was not calibrated")
    with tenant_scope(tenant_a):
        cab_services.add_contact(world.cab, name="Ivy Internal", email="ivy@lab.example.org")
        commit()
    decider = create_member(tenant_a, "decider@alpha.example.org", ["decision_maker"],
                            name="Dora Decider")
    decide(world, decider, "suspend", input_ids=[], suspension_type="financial",
           extent="full", rationale="SECRET-RATIONALE fees unpaid since March")
    entry = entry_of(tenant_a, world.acc.id)
    assert entry is not None and entry.status == "suspended"
    body = page(client, f"/alpha/directory/{entry.number}")
    assert "Suspended" in body and "Suspension: financial" in body
    for secret in ("SECRET", "Ivy Internal", "Dora Decider", "Lena Lead", "Quinn Quality",
                   "Mia Manager"):
        assert secret not in body, secret


@pytest.mark.parametrize("months, shown", [(11, True), (13, False)])
def test_a_withdrawn_entry_is_listed_marked_until_its_retention_ends(tenant_a, client, months,
                                                                     shown):
    acc = accredited(tenant_a, granted_on=months_ago(40))
    withdraw(tenant_a, acc.id, months_ago(months))
    listing = page(client, "/alpha/directory/")
    if shown:
        assert "Precision Metrology Ltd" in listing
        body = page(client, f"/alpha/directory/{acc.number}")
        assert f"Withdrawn on {months_ago(months)}" in body
        assert "This entry stays listed until" in body
        assert "Withdrawn" in body and "Pressure gauges type 1" in body
    else:
        assert "Precision Metrology Ltd" not in listing
        page(client, f"/alpha/directory/{acc.number}", 404)


def test_an_unknown_number_or_another_tenants_number_is_a_404(tenant_a, tenant_b, client):
    accredited(tenant_a)
    theirs = big(tenant_b, 2, legal_name="Bravo Lab Ltd", number="B-77.01")
    with tenant_scope(tenant_b):
        services.publish(load_acc(theirs.id))
        commit()
    page(client, "/alpha/directory/no-such-number", 404)
    body = page(client, "/alpha/directory/B-77.01", 404)
    assert "Bravo Lab" not in body
    page(client, "/alpha/directory/B-77.01/schedule.pdf", 404)
    assert "Bravo Lab Ltd" in page(client, "/bravo/directory/B-77.01")
    assert "Bravo Lab" not in page(client, "/alpha/directory/")


def test_numbers_with_dots_and_dashes_route(tenant_a, client):
    acc = big(tenant_a, 3, number="UK-0042.01")
    with tenant_scope(tenant_a):
        services.publish(load_acc(acc.id))
        commit()
    assert "UK-0042.01" in page(client, "/alpha/directory/UK-0042.01")
    assert 'href="/alpha/directory/UK-0042.01"' in page(client, "/alpha/directory/")
    page(client, "/alpha/directory/UK-0042.01/schedule.pdf", 404)  # not rendered yet
    page(client, "/alpha/directory/UK-0042.01/certificate.pdf", 404)


def test_a_cab_user_of_another_cab_reads_the_directory_too(tenant_a, client, login_as):
    acc = accredited(tenant_a)
    other = big(tenant_a, 1, legal_name="Other Lab Ltd")
    login_as(create_cab_user(tenant_a, load_cab(tenant_a, other.cab_id), "q@other.example.org"))
    assert "Precision Metrology Ltd" in page(client, f"/alpha/directory/{acc.number}")
    assert "Precision Metrology Ltd" in page(client, "/alpha/directory/")


def load_cab(tenant, cab_id):
    with tenant_scope(tenant):
        return db.session.execute(select(Cab).where(Cab.id == cab_id)).scalar_one()


def test_the_list_is_sorted_by_name_and_paged(tenant_a, client, monkeypatch):
    for name in ("Zeta Labs", "Alpha Labs", "Mu Labs"):
        acc = big(tenant_a, 1, legal_name=name)
        with tenant_scope(tenant_a):
            services.publish(load_acc(acc.id))
            commit()
    monkeypatch.setattr(services, "LIST_PAGE_SIZE", 2)
    first = page(client, "/alpha/directory/")
    assert first.index("Alpha Labs") < first.index("Mu Labs")
    assert "Zeta Labs" not in first and "Page 1 of 2" in first
    second = page(client, "/alpha/directory/?page=2")
    assert "Zeta Labs" in second and "Alpha Labs" not in second


def test_long_scopes_are_paged(tenant_a, client, monkeypatch):
    acc = big(tenant_a, 7, number="L-7")
    with tenant_scope(tenant_a):
        services.publish(load_acc(acc.id))
        commit()
    monkeypatch.setattr(services, "LINES_PAGE_SIZE", 5)
    first = page(client, "/alpha/directory/L-7")
    assert "Gauge 5 " in first and "Gauge 6 " not in first and "Page 1 of 2" in first
    assert "Gauge 6 " in page(client, "/alpha/directory/L-7?page=2")


# -- PDFs -------------------------------------------------------------------------------------


def test_the_current_schedule_pdf_is_served_as_an_unaudited_attachment(tenant_a, client,
                                                                       monkeypatch):
    acc = accredited(tenant_a)
    with tenant_scope(tenant_a):
        doc = store_upload(FileStorage(io.BytesIO(PDF), filename="schedule.pdf"),
                           owner_type="schedule_version", owner_id=1, cab_id=acc.cab_id,
                           confidentiality="public")
        commit()
    doc_id = doc.id

    def current(accreditation_id, kind):
        if accreditation_id != acc.id or kind != "schedule":
            return None
        return db.session.execute(select(type(doc)).where(type(doc).id == doc_id)).scalar_one()

    from accreditor.certificates import services as certificates
    monkeypatch.setattr(certificates, "current_document", current)
    body = page(client, f"/alpha/directory/{acc.number}")
    assert f'href="/alpha/directory/{acc.number}/schedule.pdf"' in body
    assert "certificate.pdf" not in body
    resp = client.get(f"/alpha/directory/{acc.number}/schedule.pdf")
    assert resp.status_code == 200 and resp.data == PDF
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    page(client, f"/alpha/directory/{acc.number}/certificate.pdf", 404)
    # One policy with the certificates: anonymous downloads are not audited (an unbounded
    # stream must not grow the hash chain, nor commit on a GET).
    with tenant_scope(tenant_a):
        assert db.session.execute(select(AuditEvent.id).where(
            AuditEvent.action == "document.downloaded")).first() is None


def test_a_real_decision_s_pdfs_are_downloaded_from_the_directory(tenant_a, client):
    """Through the real path: a decision issues the schedule, the job renders it after the
    commit, the directory links and serves the current issue — and refuses it once the
    retention of the withdrawn entry ended (rule 27)."""
    from accreditor.core.permissions import Role
    from tests.decisions.conftest import decide
    from tests.factories import create_member
    from tests.findings.conftest import build_world

    world = build_world(tenant_a)
    maker = create_member(tenant_a, "decider@alpha.example.org", [Role.decision_maker],
                          name="Dora Decider")
    decide(world, maker, "suspend", suspension_type="financial", extent="full",
           input_ids=[])
    number = entry_of(tenant_a, world.acc.id).number
    body = page(client, f"/alpha/directory/{number}")
    assert f'href="/alpha/directory/{number}/schedule.pdf"' in body
    for kind in ("schedule", "certificate"):
        resp = client.get(f"/alpha/directory/{number}/{kind}.pdf")
        assert resp.status_code == 200 and resp.data.startswith(b"%PDF-"), kind
        assert resp.headers["Content-Disposition"].startswith("attachment")
    decide(world, maker, "withdraw", input_ids=[],
           effective_on=TODAY)
    assert client.get(f"/alpha/directory/{number}/schedule.pdf").status_code == 200
    with tenant_scope(tenant_a):
        db.session.execute(update(DirectoryEntry).where(
            DirectoryEntry.accreditation_id == world.acc.id)
            .values(visible_until=TODAY - timedelta(days=1)))
        commit()
    page(client, f"/alpha/directory/{number}", 404)
    page(client, f"/alpha/directory/{number}/schedule.pdf", 404)


# -- bounded queries ----------------------------------------------------------------------------


def test_the_entry_page_runs_the_same_statements_for_5_and_2000_lines(tenant_a, client,
                                                                    count_queries):
    def statements(n: int, number: str) -> int:
        acc = big(tenant_a, n, legal_name=f"Lab {n}", number=number)
        with tenant_scope(tenant_a):
            ids = item_ids(tenant_a, acc.id)
        suspend(tenant_a, acc.id, ids[:1])
        url = f"/alpha/directory/{number}"
        page(client, url)
        with count_queries() as q:
            body = page(client, url)
        assert "partially suspended" in body
        assert 'data-testid="suspended-items"' in body  # the suspended lines are named
        return q.count

    assert statements(5, "S-5") == statements(2000, "S-2000")


def test_the_list_runs_the_same_statements_for_2_and_30_entries(tenant_a, client,
                                                               count_queries):
    def statements() -> int:
        page(client, "/alpha/directory/")
        with count_queries() as q:
            page(client, "/alpha/directory/")
        return q.count

    for i in range(2):
        acc = big(tenant_a, 1, legal_name=f"Small {i}")
        with tenant_scope(tenant_a):
            services.publish(load_acc(acc.id))
            commit()
    small = statements()
    for i in range(28):
        acc = big(tenant_a, 1, legal_name=f"Many {i:02d}")
        with tenant_scope(tenant_a):
            services.publish(load_acc(acc.id))
            commit()
    assert statements() == small


def test_a_suspended_certification_body_is_flagged_no_new_certifications(tenant_a, client):
    """Rule 21: the directory tells clients that a suspended CB certifies no one new; a
    suspended laboratory gets no such flag (it issues reports, not certificates)."""
    from accreditor.scopes import services as scopes
    from tests.directory.conftest import GRANTED, issue
    from tests.factories import MS_LINE, create_accreditation, create_cab

    cab = create_cab(tenant_a, "Assured Certification Ltd", locations=(("HO", "Head office"),))
    cb = create_accreditation(tenant_a, cab, "17021-1", lines=[MS_LINE])
    with tenant_scope(tenant_a):
        acc = load_acc(cb.id)
        scopes.grant(acc, effective_on=GRANTED, propose=False)
        issue(acc, GRANTED)
        services.publish(acc)
        commit()
    assert 'data-testid="no-new-certifications"' not in page(client, f"/alpha/directory/{acc.number}")
    suspend(tenant_a, cb.id, None)
    body = page(client, f"/alpha/directory/{acc.number}")
    assert 'data-testid="no-new-certifications"' in body
    assert "may not certify new clients" in body

    lab = accredited(tenant_a, legal_name="Suspended Lab Ltd")
    suspend(tenant_a, lab.id, None)
    assert 'data-testid="no-new-certifications"' not in page(
        client, f"/alpha/directory/{lab.number}")


def test_the_sanctions_page_lists_suspensions_and_recent_withdrawals_only(
        tenant_a, tenant_b, client, count_queries):
    """Rule 27 (UKAS "organisations under sanction"): current suspensions, full or partial, and
    withdrawals and resignations still within the retention; not the accredited, not the
    withdrawals past it, not another AB's."""
    accredited(tenant_a, legal_name="Still Fine Ltd")
    partly = accredited(tenant_a, legal_name="Partly Suspended Ltd")
    suspend(tenant_a, partly.id, item_ids(tenant_a, partly.id)[:1], type_="financial")
    fully = accredited(tenant_a, legal_name="Fully Suspended Ltd")
    suspend(tenant_a, fully.id, None)
    recent = accredited(tenant_a, legal_name="Recently Resigned Ltd", granted_on=months_ago(40))
    withdraw(tenant_a, recent.id, months_ago(11), voluntary=True)
    old = accredited(tenant_a, legal_name="Long Gone Ltd", granted_on=months_ago(40))
    withdraw(tenant_a, old.id, months_ago(13))
    theirs = accredited(tenant_b, legal_name="Bravo Suspended Ltd")
    suspend(tenant_b, theirs.id, None)

    body = page(client, "/alpha/directory/sanctions")
    for shown in ("Partly Suspended Ltd", "Fully Suspended Ltd", "Recently Resigned Ltd"):
        assert shown in body, shown
    for hidden in ("Still Fine Ltd", "Long Gone Ltd", "Bravo Suspended Ltd"):
        assert hidden not in body, hidden
    assert body.count('data-testid="sanctioned-entry"') == 3
    assert "financial" in body
    assert "Bodies under sanction" in page(client, "/alpha/directory/")

    with count_queries() as q:
        page(client, "/alpha/directory/sanctions")
    for i in range(5):
        more = accredited(tenant_a, legal_name=f"Suspended {i} Ltd")
        suspend(tenant_a, more.id, None)
    with count_queries() as q2:
        assert page(client, "/alpha/directory/sanctions").count(
            'data-testid="sanctioned-entry"') == 8
    assert q.count == q2.count
