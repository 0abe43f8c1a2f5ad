"""Documents attached to an application (quality manual, procedures, signed agreement …).

The CAB attaches files while it may change the application (a draft, or when the AB asked for
more information) and removes them only from a draft: once the AB has the application, what was
sent stays part of the record. Removing supersedes the document (``documents.services``); the
bytes and the row stay. Who may read is registered here for owner type ``application``.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from accreditor.applications.models import Application, ApplicationStatus
from accreditor.applications.services import private_while_draft
from accreditor.auth.models import User
from accreditor.core.errors import Conflict, NotFound
from accreditor.core.permissions import Role
from accreditor.documents import services as documents
from accreditor.documents.models import Confidentiality, Document
from accreditor.extensions import db

OWNER_TYPE = "application"


def can_view(doc: Document, membership) -> bool:
    """Staff of the tenant read the documents of an application the CAB has submitted (a
    draft is the CAB's own), except those removed before submission. CAB users read only
    current documents of their own CAB's applications."""
    if membership is None or not membership.is_active:
        return False
    row = db.session.execute(
        select(Application.cab_id, Application.status, Application.submitted_at)
        .where(Application.id == doc.owner_id)
    ).first()
    if row is None:
        return False
    cab_id, status, submitted_at = row
    if membership.is_staff:
        if status == ApplicationStatus.draft.value or submitted_at is None:
            return False
        return doc.is_current or _removed_after(doc.superseded_at, submitted_at)
    if membership.has_any_role(Role.cab_user):
        return (membership.cab_id is not None and doc.cab_id == membership.cab_id == cab_id
                and doc.is_current
                and doc.confidentiality in (Confidentiality.cab, Confidentiality.public))
    return False


def _removed_after(superseded_at: datetime | None, submitted_at: datetime) -> bool:
    return superseded_at is not None and superseded_at >= submitted_at


documents.register_owner(OWNER_TYPE, can_view)


def ensure_can_attach(app: Application) -> None:
    """Conflict unless the CAB may still change the application (a draft, or information
    requested)."""
    if not app.is_editable_by_cab:
        raise Conflict(_("Documents can be added only to a draft, or when the accreditation body "
                         "asks for more information."), field="file")


@private_while_draft
def attach_document(app: Application, file_storage) -> Document:
    """Store an upload as a document of the application (shared with the CAB). Conflict once
    the application is with the AB (unless it asked for more information); FileTooLarge (413)
    and UnsupportedFileType (400, field ``file``) from the store, with nothing kept."""
    ensure_can_attach(app)
    return documents.store_upload(file_storage, owner_type=OWNER_TYPE, owner_id=app.id,
                                  cab_id=app.cab_id, confidentiality=Confidentiality.cab.value)


@private_while_draft
def remove_document(app: Application, doc: Document) -> None:
    """Take a document off a draft (superseded, not deleted). NotFound for a document of
    another application; Conflict once the application has been submitted or when the document
    is already removed."""
    if doc.owner_type != OWNER_TYPE or doc.owner_id != app.id:
        raise NotFound(_("This document is not part of this application."))
    if app.status_enum != ApplicationStatus.draft:
        raise Conflict(_("Documents can be removed only while the application is a draft; the "
                         "accreditation body keeps what was submitted. Upload a corrected version "
                         "instead."))
    documents.supersede_document(doc)


def attached(app: Application) -> list[tuple[Document, str | None]]:
    """The application's current documents, oldest first, each with its uploader's name (one
    statement)."""
    return [tuple(row) for row in db.session.execute(
        select(Document, User.name).outerjoin(User, User.id == Document.uploaded_by_id)
        .where(Document.owner_type == OWNER_TYPE, Document.owner_id == app.id,
               Document.superseded_at.is_(None))
        .order_by(Document.created_at, Document.id)
    )]

