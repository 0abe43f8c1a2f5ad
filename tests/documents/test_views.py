"""Downloading (the one way bytes leave storage) and uploading over HTTP (test-only route)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from accreditor.core.audit import AuditEvent
from accreditor.core.permissions import Role
from accreditor.core.tenancy import tenant_scope
from accreditor.documents.models import Document
from accreditor.extensions import db
from tests.documents.conftest import UPLOAD_LIMIT, all_files
from tests.documents.helpers import PDF
from tests.factories import create_cab_user


def url(doc, slug="alpha") -> str:
    return f"/{slug}/documents/{doc.id}/download"


def downloads(tenant) -> list[AuditEvent]:
    db.session.expire_all()
    with tenant_scope(tenant):
        return list(db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "document.downloaded").order_by(AuditEvent.seq)).scalars())


@pytest.fixture
def cab_user_a(tenant_a, cab_a):
    return create_cab_user(tenant_a, cab_a, "cab@alpha-cal.example.org", name="Carl CAB")


@pytest.fixture
def other_cab_user(tenant_a, cab_a2):
    return create_cab_user(tenant_a, cab_a2, "cab@second.example.org", name="Sam Second")


def test_staff_download_is_an_attachment_with_safe_headers_and_is_audited(
        client, login_as, admin_a, tenant_a, cab_a, upload):
    doc = upload(tenant_a, PDF, "Prüfbericht 2026.pdf", cab_a)
    login_as(admin_a)
    resp = client.get(url(doc))
    assert resp.status_code == 200
    assert resp.data == PDF
    assert resp.mimetype == "application/pdf"
    assert resp.content_length == len(PDF)
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Pr%C3%BCfbericht%202026.pdf" in disposition
    assert 'filename="Prufbericht 2026.pdf"' in disposition
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert "no-store" in resp.headers["Cache-Control"]
    [event] = downloads(tenant_a)
    assert event.object_id == str(doc.id) and event.actor_id == admin_a.id


def test_a_sanitised_name_is_what_the_browser_gets(client, login_as, admin_a, tenant_a, cab_a,
                                                   upload):
    doc = upload(tenant_a, PDF, "../../etc/passwd\x07.pdf", cab_a)
    login_as(admin_a)
    resp = client.get(url(doc))
    assert resp.headers["Content-Disposition"] == (
        "attachment; filename=\"passwd.pdf\"; filename*=UTF-8''passwd.pdf")


def test_text_is_served_as_utf8_text_with_an_extension_that_cannot_run(
        client, login_as, admin_a, tenant_a, cab_a, upload):
    doc = upload(tenant_a, "Grüße\n".encode(), "run.bat", cab_a)
    login_as(admin_a)
    resp = client.get(url(doc))
    assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "filename*=UTF-8''run.bat.txt" in resp.headers["Content-Disposition"]


def test_another_tenants_document_is_a_404(client, login_as, admin_a, tenant_b, cab_b, upload):
    doc_b = upload(tenant_b, PDF, "bravo.pdf", cab_b)
    login_as(admin_a)
    assert client.get(url(doc_b, "alpha")).status_code == 404
    assert client.get(url(doc_b, "bravo")).status_code == 404
    assert downloads(tenant_b) == []


def test_a_cab_user_reads_their_own_cabs_documents(client, login_as, cab_user_a, tenant_a, cab_a,
                                                   upload):
    doc = upload(tenant_a, PDF, "ours.pdf", cab_a)
    login_as(cab_user_a)
    resp = client.get(url(doc))
    assert resp.status_code == 200 and resp.data == PDF
    assert [e.actor_id for e in downloads(tenant_a)] == [cab_user_a.id]


def test_a_cab_user_of_another_cab_gets_a_404(client, login_as, other_cab_user, tenant_a, cab_a,
                                              upload):
    doc = upload(tenant_a, PDF, "not yours.pdf", cab_a)
    login_as(other_cab_user)
    assert client.get(url(doc)).status_code == 404
    assert downloads(tenant_a) == []


def test_a_cab_user_cannot_read_internal_documents_of_their_own_cab(
        client, login_as, cab_user_a, tenant_a, cab_a, upload):
    doc = upload(tenant_a, PDF, "assessor notes.pdf", cab_a, confidentiality="internal")
    login_as(cab_user_a)
    assert client.get(url(doc)).status_code == 403
    assert downloads(tenant_a) == []


def test_a_cab_user_cannot_read_the_abs_own_documents(client, login_as, cab_user_a, tenant_a,
                                                      upload):
    doc = upload(tenant_a, PDF, "internal procedure.pdf", None)
    login_as(cab_user_a)
    assert client.get(url(doc)).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, tenant_a, cab_a, upload):
    doc = upload(tenant_a, PDF, "a.pdf", cab_a)
    resp = client.get(url(doc))
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize(("scanner", "status"), [("async_scanner", 409),
                                                 ("infected_scanner", 409),
                                                 ("clean_scanner", 200)])
def test_no_download_while_a_scan_is_pending_or_after_it_found_something(
        app, client, login_as, admin_a, tenant_a, cab_a, upload, monkeypatch, scanner, status):
    monkeypatch.setitem(app.config, "SCANNER", f"tests.documents.helpers:{scanner}")
    doc = upload(tenant_a, PDF, "a.pdf", cab_a)
    login_as(admin_a)
    resp = client.get(url(doc))
    assert resp.status_code == status
    if status == 409:
        assert b"virus" in resp.data and resp.data != PDF
        assert downloads(tenant_a) == []


def test_a_pending_document_becomes_downloadable_once_the_scan_reports_clean(
        app, client, login_as, admin_a, tenant_a, cab_a, upload, monkeypatch):
    from accreditor.core.db import commit
    from accreditor.documents.services import record_scan_result

    monkeypatch.setitem(app.config, "SCANNER", "tests.documents.helpers:async_scanner")
    doc = upload(tenant_a, PDF, "a.pdf", cab_a)
    with tenant_scope(tenant_a):
        record_scan_result(db.session.execute(select(Document)).scalar_one(), "clean")
        commit()
    login_as(admin_a)
    assert client.get(url(doc)).status_code == 200


# -- uploading over HTTP (test-only route, see conftest.upload_app) ----------------------------


def post_file(client, cab, data: bytes, name: str = "file.pdf"):
    return client.post(f"/alpha/test-upload/{cab.id}",
                       data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data",
                       headers={"Accept": "text/html"})


def count_documents(tenant) -> int:
    with tenant_scope(tenant):
        return db.session.execute(select(func.count(Document.id))).scalar_one()


@pytest.fixture
def upload_client(upload_app, admin_a):
    client = upload_app.test_client()
    resp = client.post("/login", data={"email": admin_a.email,
                                       "password": "Tessellated-Marmot-Orbit-42"})
    assert resp.status_code == 302
    return client


def test_an_http_upload_of_exactly_the_limit_is_stored_and_audited(
        upload_client, tenant_a, cab_a, audit_actions, storage_dir):
    data = PDF + b"%" * (UPLOAD_LIMIT - len(PDF))
    resp = post_file(upload_client, cab_a, data, "../x.pdf")
    assert resp.status_code == 201, resp.data
    assert resp.json["name"] == "x.pdf"
    assert audit_actions(tenant_a)[-1] == "document.uploaded"
    assert len(all_files(storage_dir)) == 1


def test_an_http_upload_one_byte_over_the_limit_gets_a_friendly_413_and_stores_nothing(
        upload_client, tenant_a, cab_a, audit_actions, storage_dir):
    data = PDF + b"%" * (UPLOAD_LIMIT - len(PDF) + 1)
    resp = post_file(upload_client, cab_a, data)
    assert resp.status_code == 413
    assert "larger than the 1 KB limit. Nothing was stored." in resp.get_data(as_text=True)
    assert all_files(storage_dir) == [] and count_documents(tenant_a) == 0
    assert "document.uploaded" not in audit_actions(tenant_a)


def test_a_request_over_max_content_length_gets_a_friendly_413_and_stores_nothing(
        upload_client, tenant_a, cab_a, storage_dir):
    resp = post_file(upload_client, cab_a, PDF + b"%" * (200 * 1024))
    assert resp.status_code == 413
    body = resp.get_data(as_text=True)
    assert "File too large" in body
    assert "larger than the allowed limit of 1 KB per file. Nothing was stored." in body
    assert all_files(storage_dir) == [] and count_documents(tenant_a) == 0


def test_an_http_upload_of_a_refused_type_is_a_400_naming_the_allowed_types(
        upload_client, tenant_a, cab_a, storage_dir):
    resp = post_file(upload_client, cab_a, b"<html><script>alert(1)</script></html>", "a.pdf")
    assert resp.status_code == 400
    assert "Allowed types: PDF, PNG, JPEG" in resp.get_data(as_text=True)
    assert all_files(storage_dir) == [] and count_documents(tenant_a) == 0


def test_a_cab_user_upload_is_confined_to_their_cab(upload_app, tenant_a, cab_a, cab_a2,
                                                    cab_user_a, storage_dir):
    client = upload_app.test_client()
    client.post("/login", data={"email": cab_user_a.email,
                                "password": "Tessellated-Marmot-Orbit-42"})
    assert post_file(client, cab_a, PDF).status_code == 201
    assert post_file(client, cab_a2, PDF).status_code == 400  # another CAB: unknown to them
    assert count_documents(tenant_a) == 1


def test_every_role_but_cab_users_reads_shared_documents(client, login_as, tenant_a, cab_a,
                                                         upload, make_user):
    doc = upload(tenant_a, PDF, "a.pdf", cab_a, confidentiality="internal")
    for role in (Role.admin, Role.manager, Role.assessor, Role.decision_maker):
        user = make_user(tenant_a, f"{role.value}@alpha.example.org", [role])
        login_as(user)
        assert client.get(url(doc)).status_code == 200, role
    assert len(downloads(tenant_a)) == 4
