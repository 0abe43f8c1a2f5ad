"""Serving documents: only through this access-checked, audited download view."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from flask import Blueprint, g, send_file

import accreditor.documents.models  # noqa: F401 - registers the table at app start
from accreditor.core.db import commit
from accreditor.core.storage import check_config, get_storage
from accreditor.core.tenancy import get_scoped_or_404
from accreditor.documents import services
from accreditor.documents.filetypes import download_name
from accreditor.documents.models import Document

bp = Blueprint("documents", __name__, url_prefix="/documents")

# The file is never rendered as a page of ours: no scripts, no plugins, no same-origin rights.
DOWNLOAD_CSP = "default-src 'none'; sandbox"


@bp.record_once
def _check_config(state) -> None:
    check_config(state.app)


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the exact name as RFC 5987 ``filename*``."""
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = "".join(c for c in fallback if c.isprintable() and c not in '"\\;') or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@bp.get("/<int:document_id>/download")
def download(document_id: int):
    doc = get_scoped_or_404(Document, document_id)
    services.check_download(doc, g.membership)
    services.record_download(doc)
    name = download_name(doc.original_name, doc.media_type)
    size, sha256, media_type = doc.size, doc.sha256, doc.media_type
    commit()
    # Werkzeug adds "; charset=utf-8" to text/* types: our text files are verified UTF-8.
    response = send_file(get_storage().open(sha256), mimetype=media_type, as_attachment=True,
                         download_name=name, etag=sha256, conditional=False, max_age=0)
    response.content_length = size
    response.headers["Content-Disposition"] = content_disposition(name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response
