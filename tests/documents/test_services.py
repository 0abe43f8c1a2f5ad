"""Document services: what is recorded, what is refused, and who may read."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from accreditor.core.audit import AuditEvent
from accreditor.core.db import commit
from accreditor.core.errors import Conflict, ValidationFailed
from accreditor.core.permissions import Role
from accreditor.core.storage import get_storage
from accreditor.core.tenancy import tenant_scope
from accreditor.documents import services
from accreditor.documents.filetypes import UnsupportedFileType
from accreditor.documents.models import Document
from accreditor.extensions import db
from tests.documents.conftest import OWNER, all_files, blobs
from tests.documents.helpers import EXE, PDF, office_file


def test_an_upload_records_a_document_and_an_audit_event(tenant_a, cab_a, upload, storage_dir):
    doc = upload(tenant_a, PDF, "Scope schedule.pdf", cab_a, owner_id=7)
    with tenant_scope(tenant_a):
        doc = db.session.execute(select(Document)).scalar_one()
        assert (doc.original_name, doc.media_type, doc.size, doc.owner_type, doc.owner_id,
                doc.confidentiality, doc.cab_id, doc.uploaded_by_id) == (
            "Scope schedule.pdf", "application/pdf", len(PDF), OWNER, 7, "cab",
            cab_a.id, None)
        event = db.session.execute(select(AuditEvent)
                                   .where(AuditEvent.action == "document.uploaded")).scalar_one()
    assert event.object_type == "Document" and event.object_id == str(doc.id)
    assert event.subject_cab_id == cab_a.id
    assert event.changes["sha256"] == [None, doc.sha256]
    assert event.changes["original_name"] == [None, "Scope schedule.pdf"]


def test_a_traversal_name_is_stored_under_the_hash_and_shown_sanitised(tenant_a, cab_a, upload,
                                                                       storage_dir):
    doc = upload(tenant_a, PDF, "../../etc/passwd\x07.pdf", cab_a)
    assert doc.original_name == "passwd.pdf"
    stored = blobs(storage_dir)
    assert stored == [storage_dir.resolve() / doc.sha256[:2] / doc.sha256[2:4] / doc.sha256]
    assert stored[0].read_bytes() == PDF
    assert not any("passwd" in str(p) for p in all_files(storage_dir))
    assert not any("passwd" in str(p) for p in storage_dir.parent.rglob("*"))


@pytest.mark.parametrize(("data", "name"), [
    (EXE, "invoice.pdf"),
    (b"<html><script>alert(1)</script></html>", "notes.txt"),
    (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "logo.png"),
    (office_file("docx", extra={"word/vbaProject.bin": b"macro"}), "report.docx"),
])
def test_refused_content_stores_nothing(tenant_a, cab_a, upload, storage_dir, data, name,
                                        audit_actions):
    with pytest.raises(UnsupportedFileType) as exc:
        upload(tenant_a, data, name, cab_a)
    db.session.rollback()
    assert exc.value.status == 400
    assert "Allowed types:" in exc.value.message
    assert all_files(storage_dir) == []
    with tenant_scope(tenant_a):
        assert db.session.execute(select(Document)).first() is None
    assert "document.uploaded" not in audit_actions(tenant_a)


def test_another_tenants_cab_cannot_be_linked(tenant_a, cab_b, upload):
    with pytest.raises(ValidationFailed, match="Unknown CAB"):
        upload(tenant_a, PDF, "a.pdf", cab_b)
    db.session.rollback()


def test_unknown_confidentiality_is_refused(tenant_a, cab_a, upload):
    with pytest.raises(ValidationFailed):
        upload(tenant_a, PDF, "a.pdf", cab_a, confidentiality="secret")
    db.session.rollback()


def test_superseding_is_a_soft_delete_and_is_audited(tenant_a, cab_a, upload, audit_actions):
    old = upload(tenant_a, PDF, "v1.pdf", cab_a)
    new = upload(tenant_a, PDF + b"% v2\n", "v2.pdf", cab_a)
    with tenant_scope(tenant_a):
        old_doc = db.session.execute(select(Document).where(Document.id == old.id)).scalar_one()
        new_doc = db.session.execute(select(Document).where(Document.id == new.id)).scalar_one()
        services.supersede_document(old_doc, superseded_by=new_doc)
        commit()
        assert not old_doc.is_current and old_doc.superseded_by_id == new_doc.id
        assert [d.id for d in services.documents_for(OWNER, 1)] == [new.id]
        assert {d.id for d in services.documents_for(OWNER, 1,
                                                     include_superseded=True)} == {old.id, new.id}
        with pytest.raises(Conflict):
            services.supersede_document(old_doc)
        event = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "document.superseded")).scalar_one()
    assert event.changes["superseded_by_id"] == [None, new.id]
    assert get_storage().exists(old.sha256)  # the bytes stay
    assert audit_actions(tenant_a).count("document.superseded") == 1


# -- who may read ------------------------------------------------------------------------------


def member(*roles, cab_id=None, active=True):
    role_set = frozenset(roles)
    staff = bool(role_set & {Role.admin, Role.manager, Role.assessor, Role.decision_maker})
    return SimpleNamespace(
        is_active=active, cab_id=cab_id, is_staff=active and staff,
        has_any_role=lambda *r: active and bool(role_set & set(r)),
    )


def doc_of(cab_id=1, confidentiality="cab", superseded=False, owner_type=OWNER):
    """A stand-in with a Document's fields (parameters are built at collection time)."""
    from accreditor.core.db import utcnow

    return SimpleNamespace(cab_id=cab_id, confidentiality=confidentiality, owner_type=owner_type,
                           superseded_at=utcnow() if superseded else None,
                           is_current=not superseded)


@pytest.mark.parametrize(("who", "doc", "allowed"), [
    (member(Role.assessor), doc_of(confidentiality="internal"), True),
    (member(Role.admin), doc_of(cab_id=None), True),
    (member(Role.manager), doc_of(superseded=True), True),
    (member(Role.cab_user, cab_id=1), doc_of(), True),
    (member(Role.cab_user, cab_id=1), doc_of(confidentiality="public"), True),
    (member(Role.cab_user, cab_id=1), doc_of(confidentiality="internal"), False),
    (member(Role.cab_user, cab_id=1), doc_of(cab_id=2), False),
    (member(Role.cab_user, cab_id=1), doc_of(superseded=True), False),
    (member(Role.cab_user, cab_id=None), doc_of(cab_id=None), False),
    (member(Role.admin, active=False), doc_of(), False),
    (None, doc_of(), False),
])
def test_the_default_rule_lets_staff_read_and_cab_users_read_their_cabs_shared_documents(
        who, doc, allowed):
    assert services.can_view(doc, who) is allowed


def test_an_owner_type_can_register_its_own_rule(monkeypatch):
    monkeypatch.setattr(services, "_OWNERS", {})
    services.register_owner("finding", lambda doc, m: m is not None and m.has_any_role(Role.assessor))
    assert services.can_view(doc_of(owner_type="finding"), member(Role.assessor))
    assert not services.can_view(doc_of(owner_type="finding"), member(Role.admin))
    assert services.can_view(doc_of(owner_type=OWNER), member(Role.admin))
