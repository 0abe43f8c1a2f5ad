"""The AB's identity on its certificates and schedules: public address, website, e-mail and logo.

The logo is a PNG or JPEG stored through ``accreditor.documents`` (owner type ``tenant_logo``,
no CAB, ``internal``: staff read it; it reaches the public only drawn inside the PDFs). A new
logo supersedes the previous one. Documents already issued keep the logo they were drawn with
(the schedule snapshot names its blob).
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from accreditor.core import audit
from accreditor.core.errors import ValidationFailed
from accreditor.documents import services as documents
from accreditor.documents.models import Confidentiality, Document
from accreditor.extensions import db

LOGO_OWNER = "tenant_logo"
LOGO_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
FIELDS = ("public_address", "website", "public_email", "logo_document_id")


def _check_logo(file_storage) -> None:
    """Only PNG and JPEG (by content, not by name): fpdf2 draws those; an SVG or a PDF would
    not be drawn, and a GIF or WebP not at all."""
    stream = file_storage.stream
    head = stream.read(8)
    stream.seek(0)
    if not any(head.startswith(sig) for sig in LOGO_SIGNATURES):
        raise ValidationFailed(_("The logo must be a PNG or JPEG image; this file is neither. "
                                 "Nothing was stored."), field="logo")


def update_identity(tenant, *, public_address: str | None, website: str | None,
                    public_email: str | None, logo=None) -> dict:
    """Save the AB's public identity (and a new logo when given); audited as
    ``tenant.identity_updated``. Raises ValidationFailed for a logo that is not PNG/JPEG."""
    new_logo = None
    if logo is not None and getattr(logo, "filename", None):
        _check_logo(logo)
        new_logo = documents.store_upload(logo, owner_type=LOGO_OWNER, owner_id=tenant.id,
                                          cab_id=None,
                                          confidentiality=Confidentiality.internal.value)
        if tenant.logo_document_id:
            old = db.session.execute(select(Document).where(
                Document.id == tenant.logo_document_id)).scalar_one_or_none()
            if old is not None and old.is_current:
                documents.supersede_document(old, superseded_by=new_logo)
    tenant.public_address = (public_address or "").strip() or None
    tenant.website = (website or "").strip() or None
    tenant.public_email = (public_email or "").strip().lower() or None
    if new_logo is not None:
        tenant.logo_document_id = new_logo.id
    changes = audit.diff(tenant)
    changes = {k: v for k, v in changes.items() if k in FIELDS}
    db.session.flush()
    if changes:
        audit.record("tenant.identity_updated", tenant, changes=changes)
    return changes
