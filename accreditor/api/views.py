"""``/api/v1``: the public JSON API over the directory projection (issue 7 point 4).

Reads only ``DirectoryEntry``/``DirectoryLine``/``DirectoryEvent`` (and, for verification, the
scope history through ``services.verify_number``), never anything unpublished. One entry is read
inside its tenant's scope: an unknown or inactive AB, another AB's number under this slug, an
unknown number or a listing that ended (rule 27) are all 404. Each answer runs a fixed number of
SQL statements whatever the size of the scope (lines in one query).
"""

from __future__ import annotations

import time
from datetime import date, datetime

from flask import Blueprint, current_app, request
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from accreditor.api import http, spec
from accreditor.certificates.models import RenderedDocument
from accreditor.core.permissions import public_endpoint
from accreditor.core.tenancy import tenant_scope
from accreditor.core.web import external_url
from accreditor.decisions.models import ScheduleVersion
from accreditor.directory import cache, search, services
from accreditor.directory.models import (
    DirectoryEntry,
    DirectoryEvent,
    DirectoryLine,
    PublicStatus,
)
from accreditor.directory.verify_views import parse_day, verify_limit
from accreditor.extensions import db, limiter
from accreditor.tenants.models import Tenant

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")

MAX_NUMBER_CHARS = 60  # DirectoryEntry.number


def _limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


# One budget per client address across the whole API; preflights are free.
rate_limited = limiter.shared_limit(_limit, scope="api_v1", methods=["GET", "HEAD"])


def _entry_url(slug: str, number: str) -> str:
    return external_url("tenant.directory.entry", tenant_slug=slug, number=number)


def _not_found():
    return http.error_response(404, _("No published accreditation has this number at this "
                                      "accreditation body."))


# -- search ---------------------------------------------------------------------------------------


@bp.get("/accreditations")
@public_endpoint
@rate_limited
def accreditations():
    try:
        query = search.parse(request.args)
    except search.QueryError as exc:
        return http.error_response(400, str(exc), code=exc.code, details=exc.errors)
    body, newest = cache.remember("api-list", (request.host_url, request.full_path),
                                  lambda: _list_body(query))
    # An entry leaving the results (suspended, listing ended) changes the list without a newer
    # published_at among what is left: the list revalidates by ETag only.
    return http.conditional(lambda: body, http.etag_of(body), newest, use_date=False)


def _list_body(query: search.Query) -> tuple[bytes, datetime | None]:
    """The list's JSON and its newest entry's publication (a pair the cache keeps)."""
    result = search.search(query, facets=False)
    items = [{
        "tenant": hit.tenant_slug,
        "tenant_name": hit.tenant_name,
        "accreditation_number": hit.entry.number,
        "cab_name": hit.entry.legal_name,
        "trading_names": list(hit.entry.trading_names or []),
        "programme": hit.entry.scope_type,
        "programme_code": hit.entry.programme_code,
        "standard": hit.entry.standard,
        "edition": hit.entry.edition,
        "status": hit.entry.status,
        "country": hit.entry.country,
        "url": _entry_url(hit.tenant_slug, hit.entry.number),
    } for hit in result.hits]
    body = http.dumps({"items": items, "total": result.total,
                       "total_exact": result.total_exact, "page": query.page,
                       "per_page": query.per_page, "pages": result.pages})
    return body, max((hit.entry.published_at for hit in result.hits), default=None)


# -- one accreditation ------------------------------------------------------------------------------


def _active_tenant(slug: str) -> Tenant | None:
    if not slug or len(slug) > 100 or "\x00" in slug:
        return None
    return db.session.execute(select(Tenant).where(
        Tenant.slug == slug, Tenant.is_active)).scalar_one_or_none()


def _documents(entry: DirectoryEntry) -> dict[str, datetime | None]:
    """The rendered PDFs of the entry's current schedule issue: kind → when rendered."""
    rows = db.session.execute(
        select(RenderedDocument.kind, RenderedDocument.rendered_at)
        .join(ScheduleVersion, ScheduleVersion.id == RenderedDocument.schedule_version_id)
        .where(ScheduleVersion.accreditation_id == entry.accreditation_id,
               ScheduleVersion.issue_no == entry.schedule_issue_no)).all()
    return {str(kind): created for kind, created in rows}


def _iso(value):
    return value.isoformat() if value is not None else None


def _entry_body(tenant: Tenant, entry: DirectoryEntry, documents: dict) -> bytes:
    lines = db.session.execute(
        select(DirectoryLine.position, DirectoryLine.summary, DirectoryLine.status,
               DirectoryLine.fields)
        .where(DirectoryLine.entry_id == entry.id)
        .order_by(DirectoryLine.position, DirectoryLine.id)).all()
    events = db.session.execute(
        select(DirectoryEvent.occurred_on, DirectoryEvent.from_status, DirectoryEvent.to_status,
               DirectoryEvent.sanction_type)
        .where(DirectoryEvent.entry_id == entry.id)
        .order_by(DirectoryEvent.occurred_on, DirectoryEvent.id)).all()

    def pdf_url(kind: str) -> str | None:
        if kind not in documents:
            return None  # still rendering
        return external_url(f"tenant.directory.{kind}_pdf", tenant_slug=tenant.slug,
                            number=entry.number)

    return http.dumps({
        "tenant": tenant.slug,
        "tenant_name": tenant.name,
        "accreditation_number": entry.number,
        "cab_name": entry.legal_name,
        "trading_names": list(entry.trading_names or []),
        "country": entry.country,
        "website": entry.website or None,
        "locations": [{"code": loc.get("code") or "", "name": loc.get("name") or "",
                       "address": loc.get("address"), "country": loc.get("country"),
                       "kind": loc.get("kind")} for loc in entry.locations or []],
        "contacts": [{"name": c.get("name") or "", "position": c.get("position"),
                      "email": c.get("email"), "phone": c.get("phone")}
                     for c in entry.contacts or []],
        "programme": entry.scope_type,
        "programme_code": entry.programme_code,
        "programme_name": entry.programme_name,
        "standard": entry.standard,
        "edition": entry.edition,
        "inspection_body_type": entry.ib_type,
        "status": entry.status,
        "status_since": _iso(entry.status_since),
        "partially_suspended": entry.status == PublicStatus.partially_suspended.value,
        "sanction_type": entry.sanction_type,
        "no_new_certifications": entry.no_new_certifications,
        "lines_total": entry.lines_total,
        "lines_suspended": entry.lines_suspended,
        "initial_grant_on": _iso(entry.initial_grant_on),
        "expiry_on": _iso(entry.expiry_on),
        "cycle_end_on": _iso(entry.cycle_end_on),
        "ended_on": _iso(entry.ended_on),
        "visible_until": _iso(entry.visible_until),
        "published_at": _iso(entry.published_at),
        "url": _entry_url(tenant.slug, entry.number),
        "verify_url": external_url("api_v1.verify", tenant_slug=tenant.slug,
                                   number=entry.number),
        "schedule": {
            "issue_number": entry.schedule_issue_no,
            "issue_date": _iso(entry.schedule_issued_on),
            "pdf_url": pdf_url("schedule"),
            "certificate_pdf_url": pdf_url("certificate"),
        },
        "scope": [{"position": position, "summary": summary or "", "status": status,
                   "fields": fields or {}} for position, summary, status, fields in lines],
        "history": [{"occurred_on": _iso(on), "from_status": from_status,
                     "to_status": to_status, "sanction_type": sanction}
                    for on, from_status, to_status, sanction in events],
    })


@bp.get("/<tenant_slug>/accreditations/<path:number>")
@public_endpoint
@rate_limited
def accreditation(tenant_slug: str, number: str):
    if len(number) > MAX_NUMBER_CHARS or "\x00" in number:
        return _not_found()
    tenant = _active_tenant(tenant_slug)
    if tenant is None:
        return _not_found()
    with tenant_scope(tenant):
        entry = services.visible_entry(number)
        if entry is None:
            return _not_found()
        documents = _documents(entry)
        # The entry's two digests cover everything published (header, history, lines): a
        # revalidation is answered without reading the lines.
        etag = http.etag_of(tenant.slug, tenant.name, entry.digest, entry.lines_digest,
                            sorted(documents), current_app.config.get("BASE_URL", ""))
        last_modified = max([entry.published_at, *filter(None, documents.values())])
        # Last-Modified dates the publication only; the AB's name, BASE_URL and the
        # representation version can change the answer without a newer date: a 304 only on
        # the ETag, never on If-Modified-Since alone.
        return http.conditional(lambda: _entry_body(tenant, entry, documents), etag,
                                last_modified, use_date=False)


# -- verification -----------------------------------------------------------------------------------


@bp.get("/<tenant_slug>/verify/<path:number>")
@public_endpoint
@rate_limited
@verify_limit
def verify(tenant_slug: str, number: str):
    on, problem = parse_day(request.args.get("on"))
    if problem:
        return http.error_response(400, f"on: {problem}", details={"on": problem})
    if len(number) > MAX_NUMBER_CHARS or "\x00" in number or len(tenant_slug) > 100 \
            or "\x00" in tenant_slug:
        return _not_found()
    answer = services.verify_number(number, on, ab=tenant_slug)
    if not answer.found:
        return _not_found()
    entry, tenant = answer.entry, answer.tenant
    names = set(services.public_field_names(entry.scope_type))
    body = http.dumps({
        "accreditation_number": entry.number,
        "tenant": tenant.slug,
        "tenant_name": tenant.name,
        "cab_name": entry.legal_name,
        "on": on.isoformat(),
        "accredited": answer.accredited,
        "status": answer.status_on,
        "scope": [{"position": item.position, "summary": item.summary or "",
                   "status": "accredited",
                   "fields": {k: v for k, v in (item.fields or {}).items() if k in names}}
                  for item in answer.lines],
        "url": _entry_url(tenant.slug, entry.number) if entry.is_visible(date.today())
        else None,
    })
    # Last-Modified: the answer for a day cannot be older than that day, nor than the entry's
    # last publication. It is not a validator: ``url`` turns null when the listing ends
    # without a publish, so only the ETag (of the body) answers a 304.
    start_of_day = datetime(on.year, on.month, on.day, tzinfo=entry.published_at.tzinfo)
    return http.conditional(lambda: body, http.etag_of(body),
                            max(entry.published_at, start_of_day), use_date=False)


# -- the document ----------------------------------------------------------------------------------


@bp.get("/openapi.json")
@public_endpoint
@rate_limited
def openapi():
    body = http.dumps(spec.document(current_app.config.get("BASE_URL") or None))
    return http.conditional(lambda: body, http.etag_of(body), None)


# -- errors raised inside the API's views ---------------------------------------------------------


@bp.errorhandler(HTTPException)
def api_http_error(e: HTTPException):
    """A rate limit, a wrong method…: the API's error shape. (Unknown addresses under /api/
    get the same shape from the app's handler, ``core.errors``.)"""
    status = e.code or 500
    messages = {
        404: _("There is nothing at this address of the API."),
        405: _("The API only reads: use GET."),
        429: _("Too many requests from your address: try again in a moment."),
    }
    response = http.error_response(status, messages.get(status) or e.description or e.name)
    if status == 429:
        current = limiter.current_limit
        if current is not None:
            response.headers["Retry-After"] = str(max(1, int(current.reset_at - time.time())))
    return response
