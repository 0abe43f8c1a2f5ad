"""Open-data downloads (no login): ``/<tenant>/directory/data/`` lists one AB's files and the
global ones, ``/directory/data/`` the global files and every active AB's; the files themselves
are ``…/accreditations.csv`` and ``…/accreditations.jsonl``.

Downloads are the stored bytes of the latest generated file, with ``Content-Length``,
``Last-Modified`` = its generation time and ``ETag`` = its SHA-256 (a revalidation answers 304),
range requests honoured (206; ``If-Range`` with the ETag or date), ``Cache-Control: public,
no-cache`` (caches keep it and revalidate), and ``Content-Disposition: attachment``. A
file not generated yet is a 404 page saying so. Downloads are not audited (public reads).
"""

from __future__ import annotations

from flask import Blueprint, g, render_template, request, send_file

from accreditor.core.permissions import public_endpoint
from accreditor.core.storage import format_size
from accreditor.directory import exports
from accreditor.directory.export_models import FORMATS

bp = Blueprint("directory_data", __name__, url_prefix="/directory/data")  # under /<tenant>/
global_bp = Blueprint("open_data", __name__, url_prefix="/directory/data")


def _page(*, tenant=None, missing: str | None = None, status: int = 200):
    files = exports.tenant_files() if tenant is not None else None
    others = exports.active_tenant_files() if tenant is None else None
    return render_template(
        "directory/open_data.html", tenant=tenant, files=files, global_files=exports.global_files(),
        others=others, missing=missing, formats=FORMATS, filenames=exports.FILENAMES,
        media_types=exports.MEDIA_TYPES, csv_columns=exports.CSV_COLUMNS,
        jsonl_fields=exports.JSONL_FIELDS, format_size=format_size), status


def _download(files: dict, fmt: str, *, tenant=None):
    rec = files.get(fmt)
    stream = exports.open_file(rec) if rec is not None else None
    if stream is None:
        return _page(tenant=tenant, missing=exports.FILENAMES[fmt], status=404)
    response = send_file(stream, mimetype=exports.MEDIA_TYPES[fmt], as_attachment=True,
                         download_name=exports.FILENAMES[fmt] if tenant is None
                         else f"{tenant.slug}-{exports.FILENAMES[fmt]}",
                         etag=rec.sha256, last_modified=rec.generated_at, conditional=False,
                         max_age=None)
    # The size is the record's (a stored blob is immutable): Content-Length, and ranges.
    response.content_length = rec.size
    response = response.make_conditional(request, accept_ranges=True, complete_length=rec.size)
    response.headers["Content-Type"] = exports.MEDIA_TYPES[fmt]  # as is (no second charset)
    response.cache_control.public = True
    response.cache_control.no_cache = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Access-Control-Allow-Origin"] = "*"  # open data, read by scripts
    return response


# -- one AB -------------------------------------------------------------------------------------


@bp.get("/")
@public_endpoint
def index():
    return _page(tenant=g.tenant)


@bp.get("/accreditations.csv")
@public_endpoint
def accreditations_csv():
    return _download(exports.tenant_files(), "csv", tenant=g.tenant)


@bp.get("/accreditations.jsonl")
@public_endpoint
def accreditations_jsonl():
    return _download(exports.tenant_files(), "jsonl", tenant=g.tenant)


# -- every AB -----------------------------------------------------------------------------------


@global_bp.get("/")
def global_index():
    return _page()


@global_bp.get("/accreditations.csv", endpoint="accreditations_csv")
def global_csv():
    return _download(exports.global_files(), "csv")


@global_bp.get("/accreditations.jsonl", endpoint="accreditations_jsonl")
def global_jsonl():
    return _download(exports.global_files(), "jsonl")
