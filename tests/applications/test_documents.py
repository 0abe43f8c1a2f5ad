"""Documents attached to an application: the CAB uploads and removes them on its application
page, staff read them once the application is submitted, and nobody else gets them."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from accreditor.core.tenancy import tenant_scope
from accreditor.documents.models import Document
from accreditor.extensions import db
from tests.applications.conftest import line_data
from tests.auth.helpers import audit_events, field_error, flashes, text, words
from tests.documents.helpers import EXE, PDF, office_file, stored_files, temporary_storage  # noqa: F401 - fixture
from tests.factories import CAL_LINE


def app_url(application_id: int, suffix: str = "") -> str:
    return f"/alpha/portal/applications/{application_id}{suffix}"


def upload(client, application_id: int, data: bytes, name: str = "Quality manual.pdf"):
    return client.post(app_url(application_id, "/documents"),
                       data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def documents_of(tenant, application_id: int) -> list[Document]:
    db.session.expire_all()
    with tenant_scope(tenant):
        return list(db.session.execute(
            select(Document).where(Document.owner_type == "application",
                                   Document.owner_id == application_id).order_by(Document.id)
        ).scalars())


def document_count(tenant) -> int:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.execute(select(func.count(Document.id))).scalar_one()


def listed(resp) -> list[str]:
    """The file names in the page's documents table, in order."""
    body = resp.get_data(as_text=True)
    m = re.search(r'<table[^>]*data-testid="documents".*?<tbody>(.*?)</tbody>', body, re.S)
    if not m:
        return []
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<tr[^>]*>\s*<td>(.*?)</td>", m.group(1), re.S)]


def remove_buttons(resp) -> list[int]:
    """The ids of the documents the page offers to remove."""
    return [int(i) for i in re.findall(r'/documents/(\d+)/remove"', resp.get_data(as_text=True))]


def download_url(doc: Document) -> str:
    return f"/alpha/documents/{doc.id}/download"


@pytest.fixture
def draft(client, login_as, lab_user, start):
    """A draft initial application of the lab, with the lab's CAB user signed in."""
    login_as(lab_user)
    return start()


@pytest.fixture
def attached(client, tenant_a, draft):
    """The draft with one PDF attached; returns (application id, document)."""
    resp = upload(client, draft, PDF)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    [doc] = documents_of(tenant_a, draft)
    return draft, doc


def submit(client, application_id: int) -> None:
    client.post(app_url(application_id, "/lines"), data=line_data(CAL_LINE))
    resp = client.post(app_url(application_id, "/submit"), data={"declaration": "y"})
    assert resp.status_code == 302


# -- the CAB's side ------------------------------------------------------------------------------


def test_a_cab_user_attaches_a_pdf_to_their_draft_and_downloads_it(
    client, tenant_a, lab, lab_user, draft, storage_dir
):
    resp = upload(client, draft, PDF, "Quality manual.pdf")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/applications/{draft}#documents")
    page = client.get(resp.headers["Location"])
    assert "Quality manual.pdf attached to the application." in flashes(page)
    assert listed(page) == ["Quality manual.pdf"]
    row = words(page).split("Quality manual.pdf", 2)[2]  # after the flash and the link
    assert row.lstrip().startswith(f"PDF {len(PDF)} bytes")
    assert "Quinn Quality" in row  # who uploaded it

    [doc] = documents_of(tenant_a, draft)
    assert (doc.cab_id, doc.uploaded_by_id, doc.media_type, doc.confidentiality) == (
        lab.id, lab_user.id, "application/pdf", "cab")
    assert remove_buttons(page) == [doc.id]  # a draft's documents can be removed
    download = client.get(download_url(doc))
    assert download.status_code == 200 and download.data == PDF
    assert [e.object_id for e in audit_events("document.uploaded", tenant=tenant_a)] == [
        str(doc.id)]
    assert len(stored_files(storage_dir)) == 1


def test_office_documents_are_accepted_and_named_by_their_type(client, tenant_a, draft):
    assert upload(client, draft, office_file("docx"), "Procedures.docx").status_code == 302
    page = client.get(app_url(draft))
    assert listed(page) == ["Procedures.docx"]
    assert "Word (DOCX)" in words(page)


def test_a_program_is_refused_beside_the_field_and_nothing_is_kept(
    client, tenant_a, draft, storage_dir
):
    resp = upload(client, draft, EXE, "manual.pdf")
    assert resp.status_code == 400
    error = field_error(resp, "file")
    assert error.startswith("This file is a Windows program, which is not accepted.")
    assert "Allowed types: PDF, PNG, JPEG, Word (DOCX), Excel (XLSX), CSV, plain text (TXT)." \
        in error
    assert document_count(tenant_a) == 0 and stored_files(storage_dir) == []
    assert audit_events("document.uploaded", tenant=tenant_a) == []


def test_an_unknown_binary_type_is_refused_beside_the_field(client, tenant_a, draft, storage_dir):
    resp = upload(client, draft, b"\x00\x01\x02binary blob\xff\xfe" * 20, "data.bin")
    assert resp.status_code == 400
    assert field_error(resp, "file").startswith("This type of file is not accepted")
    assert document_count(tenant_a) == 0 and stored_files(storage_dir) == []


def test_no_file_chosen_is_an_error_beside_the_field(client, tenant_a, draft):
    resp = client.post(app_url(draft, "/documents"), data={},
                       content_type="multipart/form-data")
    assert resp.status_code == 400
    assert field_error(resp, "file") == "Choose a file to upload."
    assert document_count(tenant_a) == 0


def test_an_oversize_file_gets_a_413_with_the_limit_and_nothing_is_kept(
    app, client, tenant_a, draft, storage_dir, monkeypatch
):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1024)
    exactly = PDF + b"%" * (1024 - len(PDF))
    assert upload(client, draft, exactly, "exactly.pdf").status_code == 302

    resp = upload(client, draft, exactly + b"%", "too big.pdf")
    assert resp.status_code == 413
    assert field_error(resp, "file") == "The file is larger than the 1 KB limit. Nothing was stored."
    assert "At most 1 KB per file." in words(resp)  # the limit is stated before uploading too
    assert [d.original_name for d in documents_of(tenant_a, draft)] == ["exactly.pdf"]
    assert len(stored_files(storage_dir)) == 1
    assert len(audit_events("document.uploaded", tenant=tenant_a)) == 1


def test_a_request_over_the_request_limit_gets_a_friendly_413(
    app, client, tenant_a, draft, storage_dir, monkeypatch
):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    resp = upload(client, draft, PDF + b"%" * (100 * 1024))
    assert resp.status_code == 413
    assert "File too large" in text(resp) and "Nothing was stored." in text(resp)
    assert document_count(tenant_a) == 0 and stored_files(storage_dir) == []


def test_a_removed_document_is_no_longer_listed_or_downloadable_for_the_cab(
    client, tenant_a, attached
):
    application_id, doc = attached
    resp = client.post(app_url(application_id, f"/documents/{doc.id}/remove"))
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"])
    assert "Quality manual.pdf removed from the application." in flashes(page)
    assert listed(page) == []
    assert "No documents attached yet." in words(page)
    assert client.get(download_url(doc)).status_code == 403
    # Superseded, not deleted: the row (and the audit trail) keep it.
    [kept] = documents_of(tenant_a, application_id)
    assert kept.superseded_at is not None
    assert [e.object_id for e in audit_events("document.superseded", tenant=tenant_a)] == [
        str(doc.id)]
    # Removing it twice is refused.
    assert client.post(app_url(application_id, f"/documents/{doc.id}/remove")).status_code == 409


def test_after_submission_uploads_wait_for_an_information_request(
    client, login_as, tenant_a, lab_user, manager, attached
):
    application_id, doc = attached
    submit(client, application_id)
    page = client.get(app_url(application_id))
    assert listed(page) == ["Quality manual.pdf"]
    assert "Attach a document" not in words(page) and remove_buttons(page) == []

    refused = upload(client, application_id, PDF + b"% v2\n", "v2.pdf")
    assert refused.status_code == 409
    assert ("Documents can be added only to a draft, or when the accreditation body asks for "
            "more information.") in text(refused)
    removal = client.post(app_url(application_id, f"/documents/{doc.id}/remove"))
    assert removal.status_code == 409
    assert "Documents can be removed only while the application is a draft" in text(removal)
    assert len(documents_of(tenant_a, application_id)) == 1
    assert documents_of(tenant_a, application_id)[0].is_current

    login_as(manager)
    client.post(f"/alpha/applications/{application_id}/request-info",
                data={"question": "Send the calibration procedure."})
    login_as(lab_user)
    assert upload(client, application_id, PDF + b"% v2\n", "Procedure.pdf").status_code == 302
    page = client.get(app_url(application_id))
    assert listed(page) == ["Quality manual.pdf", "Procedure.pdf"]
    assert "Attach a document" in words(page)
    assert remove_buttons(page) == []  # what the AB received stays part of the record


# -- other people --------------------------------------------------------------------------------


def test_another_cabs_user_gets_404_for_the_application_and_its_documents(
    client, login_as, tenant_a, other_cab_user, attached, storage_dir
):
    application_id, doc = attached
    login_as(other_cab_user)
    assert client.get(app_url(application_id)).status_code == 404
    assert client.get(download_url(doc)).status_code == 404
    assert upload(client, application_id, PDF, "intruder.pdf").status_code == 404
    assert client.post(app_url(application_id, f"/documents/{doc.id}/remove")).status_code == 404
    assert [d.is_current for d in documents_of(tenant_a, application_id)] == [True]
    assert len(stored_files(storage_dir)) == 1


def test_a_document_id_of_another_application_is_a_404(client, tenant_a, attached, start):
    from accreditor.refdata.services import programme_by_code

    application_id, doc = attached
    with tenant_scope(tenant_a):
        testing = programme_by_code("17025-T").id
    other = start(summary="Testing too", programme=str(testing))
    assert client.post(app_url(other, f"/documents/{doc.id}/remove")).status_code == 404
    assert documents_of(tenant_a, application_id)[0].is_current


def test_staff_read_the_documents_only_once_the_application_is_submitted(
    client, login_as, tenant_a, lab_user, manager, assessor, attached
):
    application_id, doc = attached
    login_as(manager)
    assert client.get(download_url(doc)).status_code == 403  # a draft is the CAB's own

    login_as(lab_user)
    submit(client, application_id)
    for person in (manager, assessor):
        login_as(person)
        page = client.get(f"/alpha/applications/{application_id}")
        assert listed(page) == ["Quality manual.pdf"]
        assert "Quinn Quality" in words(page)
        download = client.get(download_url(doc))
        assert download.status_code == 200 and download.data == PDF


def test_staff_never_get_a_document_removed_from_the_draft(
    client, login_as, tenant_a, lab_user, manager, attached
):
    application_id, doc = attached
    client.post(app_url(application_id, f"/documents/{doc.id}/remove"))
    submit(client, application_id)
    login_as(manager)
    page = client.get(f"/alpha/applications/{application_id}")
    assert listed(page) == [] and "The CAB attached no documents." in words(page)
    assert client.get(download_url(doc)).status_code == 403


def test_staff_have_no_upload_or_remove_route(client, login_as, manager, attached):
    application_id, doc = attached
    login_as(manager)
    assert upload(client, application_id, PDF).status_code == 403
    assert client.post(app_url(application_id, f"/documents/{doc.id}/remove")).status_code == 403


# -- bounded pages -------------------------------------------------------------------------------


def test_the_application_pages_run_as_many_statements_with_many_documents(
    client, login_as, tenant_a, lab_user, manager, draft, count_queries
):
    def measure(url: str) -> int:
        client.get(url)  # warm up
        with count_queries() as q:
            resp = client.get(url)
        assert resp.status_code == 200
        return q.count

    def add_documents(n: int, start: int) -> None:
        for i in range(start, start + n):
            assert upload(client, draft, PDF + f"% {i}\n".encode(), f"doc {i}.pdf").status_code \
                == 302

    add_documents(1, 0)
    portal_small = measure(app_url(draft))
    submit(client, draft)
    login_as(manager)
    staff_small = measure(f"/alpha/applications/{draft}")
    client.post(f"/alpha/applications/{draft}/request-info", data={"question": "More, please."})
    login_as(lab_user)
    add_documents(15, 1)
    portal_large = measure(app_url(draft))
    client.post(app_url(draft, "/answer"), data={"answer": "Attached."})
    login_as(manager)
    staff_large = measure(f"/alpha/applications/{draft}")
    assert len(listed(client.get(f"/alpha/applications/{draft}"))) == 16
    print(f"QUERYCOUNT application pages: portal {portal_small} {portal_large}; "
          f"staff {staff_small} {staff_large}")
    # The portal page of an application with an information request shows one more form.
    assert portal_large <= portal_small + 1
    assert staff_small == staff_large
