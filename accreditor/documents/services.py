"""Storing, superseding, reading and scanning documents; who may read them.

Each capability that owns documents registers an access rule once, at import time::

    register_owner("application", can_view=lambda doc, membership: ...)

Unregistered owner types use :func:`default_can_view`: the tenant's staff may read every
document; a CAB user only current documents of their own CAB that are ``cab`` or ``public``.
Tenant and CAB confinement happen before any rule is asked (the ORM filters make another
tenant's or CAB's document a 404).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from accreditor.core import audit
from accreditor.core.db import utcnow
from accreditor.core.errors import Conflict, PermissionDenied, ValidationFailed
from accreditor.core.permissions import Role, acting_user
from accreditor.core.storage import ScanStatus, get_storage, scan
from accreditor.documents.filetypes import detect, sanitise_filename
from accreditor.documents.models import Confidentiality, Document
from accreditor.extensions import db

CanView = Callable[[Document, Any], bool]

UPLOAD_FIELDS = ("original_name", "media_type", "size", "sha256", "owner_type", "owner_id",
                 "confidentiality", "scan_status", "cab_id")


class DocumentUnavailable(Conflict):
    """The document exists and may be read, but not now (scan pending, or infected)."""

    code = "document_unavailable"


# -- who may read ------------------------------------------------------------------------------


def default_can_view(doc: Document, membership) -> bool:
    """Staff of the tenant: yes. CAB users: current documents of their own CAB marked
    ``cab`` or ``public``. Anyone else: no."""
    if membership is None or not membership.is_active:
        return False
    if membership.is_staff:
        return True
    if membership.has_any_role(Role.cab_user):
        return (
            membership.cab_id is not None
            and doc.cab_id == membership.cab_id
            and doc.confidentiality in (Confidentiality.cab, Confidentiality.public)
            and doc.is_current
        )
    return False


_OWNERS: dict[str, CanView] = {}


def register_owner(owner_type: str, can_view: CanView = default_can_view) -> None:
    """Declare who may read documents attached to ``owner_type`` objects (idempotent)."""
    _OWNERS[owner_type] = can_view


def can_view(doc: Document, membership) -> bool:
    return _OWNERS.get(doc.owner_type, default_can_view)(doc, membership)


# -- use cases ---------------------------------------------------------------------------------


def _check_cab(cab_id: int | None) -> None:
    if cab_id is None:
        return
    from accreditor.cabs.models import Cab

    # Through the tenant (and CAB) filter: another tenant's CAB id is refused, not linked.
    if db.session.execute(select(Cab.id).where(Cab.id == cab_id)).scalar_one_or_none() is None:
        raise ValidationFailed(_("Unknown CAB."), field="cab_id")


def store_upload(file_storage, *, owner_type: str, owner_id: int, cab_id: int | None,
                 confidentiality: str = Confidentiality.cab) -> Document:
    """Stream an upload into storage, detect its type from the content and record a Document.

    Raises FileTooLarge (413) past ``UPLOAD_MAX_BYTES`` and UnsupportedFileType (400) for
    anything but the allowed types; in both cases nothing is stored. Needs a tenant scope.
    """
    if not owner_type or len(owner_type) > 40:
        raise ValidationFailed(_("Unknown kind of owner."), field="owner_type")
    try:
        confidentiality = Confidentiality(confidentiality)
    except ValueError:
        raise ValidationFailed(_("Unknown confidentiality."), field="confidentiality") from None
    _check_cab(cab_id)
    config = current_app.config
    storage = get_storage()
    with storage.receive(file_storage.stream, max_bytes=config["UPLOAD_MAX_BYTES"]) as pending:
        with pending.open() as received:
            kind = detect(
                received,
                allowed=config["UPLOAD_ALLOWED_TYPES"],
                zip_max_uncompressed=config["UPLOAD_ZIP_MAX_UNCOMPRESSED"],
                zip_max_entries=config["UPLOAD_ZIP_MAX_ENTRIES"],
            )
        storage.keep(pending)
        sha256, size = pending.sha256, pending.size
    user = acting_user()
    doc = Document(
        cab_id=cab_id,
        sha256=sha256,
        size=size,
        media_type=kind.media_type,
        original_name=sanitise_filename(getattr(file_storage, "filename", None)),
        owner_type=owner_type,
        owner_id=int(owner_id),
        confidentiality=confidentiality.value,
        uploaded_by_id=user.id if user is not None else None,
        scan_status=scan(storage, sha256, media_type=kind.media_type).value,
    )
    db.session.add(doc)
    db.session.flush()
    audit.record("document.uploaded", doc, changes=audit.snapshot(doc, UPLOAD_FIELDS))
    return doc


def supersede_document(doc: Document, *, superseded_by: Document | None = None) -> None:
    """Soft delete (or replace by ``superseded_by``); the bytes and the row stay. Raises
    Conflict when it is already superseded."""
    if not doc.is_current:
        raise Conflict(_("This document has already been removed or replaced."))
    if superseded_by is not None and (superseded_by.id == doc.id or not superseded_by.is_current):
        raise ValidationFailed(_("Choose a current document as the replacement."))
    doc.superseded_at = utcnow()
    doc.superseded_by_id = superseded_by.id if superseded_by is not None else None
    changes = audit.diff(doc)
    db.session.flush()
    audit.record("document.superseded", doc, changes=changes)


def check_download(doc: Document, membership) -> None:
    """Raises PermissionDenied (the owner's rule refuses) or DocumentUnavailable (scan)."""
    if not can_view(doc, membership):
        raise PermissionDenied(_("Your role does not allow you to read this document."))
    if doc.scan_status == ScanStatus.pending:
        raise DocumentUnavailable(_("This file is still being checked for viruses. Try again in "
                                    "a few minutes."))
    if doc.scan_status == ScanStatus.infected:
        raise DocumentUnavailable(_("This file failed the virus check and cannot be "
                                    "downloaded."))


def record_download(doc: Document) -> audit.AuditEvent:
    """Audit event ``document.downloaded`` (the caller commits before sending the bytes)."""
    return audit.record("document.downloaded", doc)


def open_document(doc: Document) -> BinaryIO:
    return get_storage().open(doc.sha256)


def record_scan_result(doc: Document, status: str) -> None:
    """An asynchronous scanner's verdict on a pending document (audited)."""
    status = ScanStatus(status)
    if status == doc.scan_status:
        return
    doc.scan_status = status.value
    changes = audit.diff(doc)
    db.session.flush()
    audit.record("document.scanned", doc, changes=changes)


def documents_for(owner_type: str, owner_id: int, *, include_superseded: bool = False
                  ) -> list[Document]:
    """An owner's documents, oldest first (through the tenant and CAB filters)."""
    stmt = select(Document).where(Document.owner_type == owner_type,
                                  Document.owner_id == owner_id)
    if not include_superseded:
        stmt = stmt.where(Document.superseded_at.is_(None))
    return list(db.session.execute(stmt.order_by(Document.created_at, Document.id)).scalars())
