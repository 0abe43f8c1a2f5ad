"""Public directory pages of one AB (no login): ``/<tenant>/directory/`` lists the published
entries by name; ``/<tenant>/directory/<number>`` shows one; ``…/schedule.pdf`` and
``…/certificate.pdf`` serve the current issue's PDFs (the only public route to them; anonymous
downloads are not audited).

They read only ``DirectoryEntry`` and its lines and events (the public projection) through the
tenant filter: another tenant's number under this slug, an unknown number, or an entry whose
retention ended (rule 27) is a 404. Every page runs a fixed number of SQL statements.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, render_template, request, send_file
from sqlalchemy import select

from accreditor.certificates import services as certificates
from accreditor.core.permissions import public_endpoint
from accreditor.core.storage import ScanStatus
from accreditor.directory import services
from accreditor.directory.models import LINE_STATUS_LABELS, SANCTION_LABELS, status_label
from accreditor.documents.models import Document
from accreditor.documents.services import open_document
from accreditor.extensions import db

bp = Blueprint("directory", __name__, url_prefix="/directory")

DOCUMENT_KINDS = ("schedule", "certificate")


def _page() -> int:
    page = request.args.get("page", 1, type=int) or 1
    return max(1, min(page, 100_000))


def _pages(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


@bp.get("/")
@public_endpoint
def index():
    page = _page()
    entries, total = services.list_entries(page, per_page=services.LIST_PAGE_SIZE)
    return render_template("directory/index.html", entries=entries, total=total, page=page,
                           pages=_pages(total, services.LIST_PAGE_SIZE),
                           status_label=status_label)


@bp.get("/sanctions")
@public_endpoint
def sanctions():
    """Bodies under sanction: current suspensions, and withdrawals and resignations still
    listed (rule 27; UKAS's "organisations under sanction")."""
    page = _page()
    entries, total = services.sanctioned_entries(page, per_page=services.LIST_PAGE_SIZE)
    return render_template("directory/sanctions.html", entries=entries, total=total,
                           page=page, pages=_pages(total, services.LIST_PAGE_SIZE),
                           status_label=status_label, sanction_labels=SANCTION_LABELS)


def _entry_or_404(number: str):
    entry = services.visible_entry(number)
    if entry is None:
        abort(404)
    return entry


@bp.get("/<number>")
@public_endpoint
def entry(number: str):
    entry = _entry_or_404(number)
    page = _page()
    suspended_only = request.args.get("lines") == "suspended" and entry.lines_suspended > 0
    lines, total = services.entry_lines(entry, page, suspended_only=suspended_only,
                                        per_page=services.LINES_PAGE_SIZE)
    documents = {kind: certificates.current_document(entry.accreditation_id, kind)
                 for kind in DOCUMENT_KINDS}
    return render_template(
        "directory/entry.html", entry=entry, lines=lines, lines_shown=total, page=page,
        pages=_pages(total, services.LINES_PAGE_SIZE), suspended_only=suspended_only,
        history=services.entry_history(entry), documents=documents,
        line_labels=LINE_STATUS_LABELS, sanction_labels=SANCTION_LABELS,
        status_label=status_label, today=date.today())


def _document(found) -> Document | None:
    """The stored file behind ``current_document``'s answer (a Document, or a rendering record
    naming one by ``document_id``), through the tenant filter."""
    if found is None or isinstance(found, Document):
        return found
    return db.session.execute(select(Document).where(
        Document.id == found.document_id)).scalar_one_or_none()


def _serve(number: str, kind: str):
    entry = _entry_or_404(number)
    doc = _document(certificates.current_document(entry.accreditation_id, kind))
    if doc is None or doc.scan_status in (ScanStatus.pending, ScanStatus.infected):
        abort(404)
    # Not audited: an anonymous, unbounded stream of downloads must not grow the audit chain
    # (one policy with the signed-in downloads, which are).
    size, sha256, media_type = doc.size, doc.sha256, doc.media_type
    name = f"{kind}-{entry.number}.pdf"
    stream = open_document(doc)
    response = send_file(stream, mimetype=media_type, as_attachment=True, download_name=name,
                         etag=sha256, conditional=False, max_age=0)
    response.content_length = size
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "no-store"  # the current issue changes with decisions
    return response


@bp.get("/<number>/schedule.pdf")
@public_endpoint
def schedule_pdf(number: str):
    return _serve(number, "schedule")


@bp.get("/<number>/certificate.pdf")
@public_endpoint
def certificate_pdf(number: str):
    return _serve(number, "certificate")
