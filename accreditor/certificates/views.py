"""Downloads of rendered certificates and schedules (under ``/<tenant>/certificates``).

* ``/schedules/<id>/schedule.pdf`` and ``…/certificate.pdf`` — signed-in users: the tenant's
  staff read every issue; a CAB user reads the issues of their own CAB (the CAB filter makes
  another CAB's a 404). Checked and audited through ``accreditor.documents`` (``can_view`` of
  owner type ``schedule_version``, ``document.downloaded``).
* The public downloads the current issue's PDFs only through the directory
  (``/<tenant>/directory/<number>/schedule.pdf``), under the directory's rules (retention, rule
  27): there is no public route keyed by schedule id.

While a PDF is still being rendered the signed-in link answers 409 "being prepared"; the schedule
page (``templates/certificates/_downloads.html``) says so instead of linking.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, send_file, url_for
from flask_babel import gettext as _

from accreditor.certificates import services
from accreditor.certificates.models import DocumentKind, RenderedDocument
from accreditor.core.db import commit
from accreditor.core.storage import format_size, get_storage
from accreditor.core.tenancy import get_scoped_or_404
from accreditor.decisions.models import ScheduleVersion
from accreditor.documents import services as documents
from accreditor.documents.models import Document
from accreditor.documents.views import DOWNLOAD_CSP, content_disposition

bp = Blueprint("certificates", __name__, url_prefix="/certificates")


def _send(doc: Document):
    name, sha256, size = doc.original_name, doc.sha256, doc.size
    response = send_file(get_storage().open(sha256), mimetype="application/pdf",
                         as_attachment=True, download_name=name, etag=sha256,
                         conditional=False, max_age=0)
    response.content_length = size
    response.headers["Content-Disposition"] = content_disposition(name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _not_ready():
    raise documents.DocumentUnavailable(_("This document is being prepared. Try again in a "
                                          "minute."))


def _download(schedule_id: int, kind: DocumentKind):
    membership = g.get("membership")
    if membership is None:
        abort(404)
    version = get_scoped_or_404(ScheduleVersion, schedule_id)
    row = services.documents_of(version.id).get(kind.value)
    if row is None:
        _not_ready()
    doc = get_scoped_or_404(Document, row.document_id)
    documents.check_download(doc, membership)
    documents.record_download(doc)
    commit()
    return _send(doc)


@bp.get("/schedules/<int:schedule_id>/schedule.pdf")
def schedule_pdf(schedule_id: int):
    return _download(schedule_id, DocumentKind.schedule)


@bp.get("/schedules/<int:schedule_id>/certificate.pdf")
def certificate_pdf(schedule_id: int):
    return _download(schedule_id, DocumentKind.certificate)


# -- for the schedule version page ---------------------------------------------------------------


@bp.app_template_global()
def schedule_documents(version_id: int) -> dict:
    """``{kind: {"url", "pages", "size"} or None}`` for ``_downloads.html`` (one query)."""
    rows: dict[str, RenderedDocument] = services.documents_of(version_id)
    out: dict = {}
    for kind in services.KINDS:
        row = rows.get(kind.value)
        out[kind.value] = None if row is None else {
            "url": url_for(f"tenant.certificates.{kind.value}_pdf", schedule_id=version_id),
            "pages": row.page_count, "size": format_size(row.size)}
    return out
