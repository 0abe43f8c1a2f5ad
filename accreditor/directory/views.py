"""Public directory pages of one AB (no login): ``/<tenant>/directory/`` searches the AB's
published entries (the same page as ``/directory/`` across every AB, without the AB filter:
``search_page``); ``/<tenant>/directory/<number>`` shows one; ``…/schedule.pdf`` and
``…/certificate.pdf`` serve the current issue's PDFs (the only public route to them; anonymous
downloads are not audited).

They read only ``DirectoryEntry`` and its lines and events (the public projection) through the
tenant filter: another tenant's number under this slug, an unknown number, or an entry whose
retention ended (rule 27) is a 404. Every page runs a fixed number of SQL statements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from accreditor.certificates import services as certificates
from accreditor.core.permissions import public_endpoint
from accreditor.core.storage import ScanStatus
from accreditor.directory import cache, search, services
from accreditor.directory.models import (
    LINE_STATUS_LABELS,
    SANCTION_LABELS,
    PublicStatus,
    status_label,
)
from accreditor.documents.models import Document
from accreditor.documents.services import open_document
from accreditor.extensions import db, limiter
from accreditor.refdata import services as refdata
from accreditor.refdata.models import ScopeType, TermKind
from accreditor.scopes import schemas

bp = Blueprint("directory", __name__, url_prefix="/directory")

# One budget per client address for the search pages (``/directory/`` and every
# ``/<tenant>/directory/``): each search reads the index and counts facets.
search_limit = limiter.shared_limit(lambda: current_app.config["SEARCH_RATE_LIMIT"],
                                    scope="directory-search", methods=["GET", "HEAD"])

DOCUMENT_KINDS = ("schedule", "certificate")


def _page() -> int:
    page = request.args.get("page", 1, type=int) or 1
    return max(1, min(page, search.MAX_PAGE))  # the search page's bound too


def _pages(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


# -- the search page (``/directory/`` and ``/<tenant>/directory/``) -----------------------------

# The facets in the order the page shows them, with their headings.
FACET_TITLES = {
    "tenant": _l("Accreditation body"),
    "programme": _l("Programme"),
    "status": _l("Status"),
    "country": _l("Country"),
    "iaf_code": _l("IAF code"),
    "field": _l("Testing field / calibration discipline"),
}
PROGRAMME_LABELS = search.PROGRAMME_LABELS
SORT_LABELS = {"relevance": _l("Relevance"), "name": _l("Name")}
PARAM_TITLES = {**FACET_TITLES, "q": _l("Search"), "sort": _l("Sort"), "page": _l("Page"),
                "per_page": _l("Results per page")}
# Parameters whose errors the page shows beside the search box (the others: beside their
# filter, the sort links or the pager).
BOX_PARAMS = ("q",)


@dataclass
class Filter:
    """One facet as the page shows it: its values with counts and links, the active value
    (with a link that removes it) and the error of its parameter, if any."""

    name: str
    title: str
    values: list[dict]
    active: str | None
    active_label: str | None
    remove_url: str | None
    error: str | None = None


def _label(name: str, value: str) -> str:
    if name == "programme":
        return str(PROGRAMME_LABELS.get(value, value))
    if name == "status":
        return status_label(value)
    return value


URL_SAFE = "!$'()*,/:;?@"  # what werkzeug leaves unencoded in a query string


def _links(endpoint: str, query: search.Query, per_page: int, tenant_page: bool):
    """``link(**changes)``: the URL of this page for ``query`` with ``changes`` (any change
    of filter, words or sort goes back to page 1 unless a page is given). Arguments come from
    ``Query.args()`` so every link is shareable; the default page size is left out."""

    # The path once; each link adds its arguments encoded as url_for does (a page has ~100
    # links: building each through the URL map cost ~4 ms a page).
    path = url_for(endpoint)

    def link(**changes) -> str:
        changes.setdefault("page", 1)
        q = query.with_(**changes)
        args = q.args()
        if tenant_page:
            args.pop("tenant", None)
        if q.per_page == per_page:
            args.pop("per_page", None)
        else:
            args["per_page"] = q.per_page
        return f"{path}?{urlencode(args, safe=URL_SAFE)}" if args else path

    return link


def _endpoint_url(*endpoints: str) -> str | None:
    """A link to a page another part of the app serves: the first of ``endpoints`` there."""
    for endpoint in endpoints:
        if endpoint in current_app.view_functions:
            return url_for(endpoint)
    return None


def _words(result) -> dict:
    """The labels each hit repeats, translated once per page (each ``gettext`` costs tens
    of microseconds: per hit, they were a fifth of the page's time)."""
    return {
        "status": {h.entry.status: status_label(h.entry.status)
                   for h in (result.hits if result is not None else ())},
        "ab": _("Accreditation body:"), "number": _("Number:"), "country": _("Country:"),
        "trading": _("Trading as %(n)s"), "page": _("Page"),
        "suspended_lines": _("%(s)d of %(n)d lines suspended"), "since": _("since %(d)s"),
    }


def page_window(page: int, pages: int, around: int = 2) -> list[int | None]:
    """Page numbers to link: the first, the last and ``around`` either side of the current
    one; None where pages are skipped."""
    shown = sorted({1, pages, *range(max(1, page - around), min(pages, page + around) + 1)})
    out: list[int | None] = []
    for p in shown:
        if out and p - out[-1] > 1:
            out.append(None)
        out.append(p)
    return out


def search_page(*, tenant=None):
    """The directory search page: every active AB's entries (``tenant`` None) or one AB's.
    Bad parameters answer 400 with each message beside its field; never a 500. The page a
    visitor without a session sees is the same for everyone: it is cached until the directory
    changes (``directory.cache``); signed-in users and pending messages get it rendered."""
    if current_user.is_authenticated or session.get("_flashes"):
        return _search_page(tenant)
    return cache.remember("page", (request.host_url, request.full_path, get_locale()),
                          lambda: _search_page(tenant))


def _search_page(tenant):
    tenant_page = tenant is not None
    endpoint = "tenant.directory.index" if tenant_page else "public_directory.index"
    per_page = services.LIST_PAGE_SIZE
    errors: dict[str, str] = {}
    try:
        query = search.parse(request.args, tenant=tenant.slug if tenant_page else None)
    except search.QueryError as exc:
        errors = dict(exc.errors)
        query = None
    result = None
    if query is not None:
        if not (request.args.get("per_page") or "").strip():
            query = query.with_(per_page=per_page)
        shown = query
        # With no words to rank by, "relevance" lists by name.
        result = search.search(query if query.q or query.sort == "name"
                               else query.with_(sort="name"))
    else:
        # The error page keeps the good parameters (in its form and links) and drops the bad.
        good = {k: v for k, v in request.args.items()
                if k not in errors and k != "page" and v and "\x00" not in v}
        try:
            shown = search.parse(good, tenant=tenant.slug if tenant_page else None)
        except search.QueryError:
            shown = search.Query(tenant=tenant.slug if tenant_page else None)
        if "per_page" not in good:
            shown = shown.with_(per_page=per_page)
    link = _links(endpoint, shown, per_page, tenant_page)
    filters = _filters(shown, result, errors, link, tenant_page)
    corrections = [
        (word, [(alt, link(q=re.sub(rf"(?i)\b{re.escape(word)}\b", alt, shown.q)))
                for alt in alternatives])
        for word, alternatives in (getattr(result, "corrections", None) or {}).items()]
    page = query.page if query is not None else 1
    pages = result.pages if result is not None else 1
    # Words to rank by (``-apex``, ``or`` or ``""`` have none): without them the list is by
    # name, the count says nothing about "matching", and "relevance" is not offered.
    has_words = bool(search.read_query(shown.q or ""))
    sort_labels = SORT_LABELS if has_words else {"name": SORT_LABELS["name"]}
    context = dict(
        tenant=tenant, tenant_page=tenant_page, endpoint=endpoint, query=query,
        result=result, errors=errors, filters=filters, corrections=corrections,
        active_filters=[f for f in filters if f.active],
        q=shown.q, has_words=has_words,
        sort=shown.sort if has_words else "name", page=page, pages=pages, link=link,
        sort_labels=sort_labels,
        param_titles=PARAM_TITLES, window=page_window(page, pages),
        facet_cap=search.FACET_CAP + 1,
        per_page_arg=shown.per_page if shown.per_page != per_page else None,
        box_errors=[errors[k] for k in BOX_PARAMS if k in errors],
        words=_words(result),
        sanctions_url=url_for("tenant.directory.sanctions") if tenant_page else None,
        data_url=_endpoint_url("tenant.directory_data.index") if tenant_page
        else _endpoint_url("open_data.index", "open_data.global_index"),
    )
    return render_template("directory/search.html", **context), 400 if errors else 200


def _filters(query: search.Query, result, errors, link, tenant_page: bool) -> list[Filter]:
    facets = result.facets if result is not None else {}
    out = []
    for name, title in FACET_TITLES.items():
        if name == "tenant" and tenant_page:
            continue
        active = getattr(query, name, None)
        values, active_label = [], None
        for facet in facets.get(name) or ():
            label = facet.label or _label(name, facet.value)
            is_active = active is not None and str(facet.value) == str(active)
            if is_active:
                active_label = label
            values.append({"value": facet.value, "label": label, "count": facet.count,
                           "active": is_active,
                           "url": None if is_active else link(**{name: facet.value})})
        if active and active_label is None:
            active_label = _label(name, active)
        if not values and not active and name not in errors:
            continue
        remove = link(**{name: None}) if active or name in errors else None
        out.append(Filter(name, str(title), values, active, active_label, remove,
                          errors.get(name)))
    return out


@bp.get("/")
@public_endpoint
@search_limit
def index():
    return search_page(tenant=g.tenant)


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


# The scope table's columns per programme: (heading, fields shown in the cell, joined by
# spaces) — the programme's schedule fields (scopes.schemas), ranges and CMCs in one cell each
# as a schedule prints them.
_TO = _l("to")  # "0 to 700 bar"
_CAL_COLUMNS = (
    (_l("Discipline"), ("discipline",)),
    (_l("Measured quantity / instrument"), ("quantity",)),
    (_l("Range"), ("range_min", _TO, "range_max", "range_unit")),
    (_l("CMC (k = 2)"), ("cmc", "cmc_unit", "cmc_term")),
    (_l("Remarks"), ("remarks",)),
    (_l("Location"), ("location",)),
)
_CODED = frozenset({TermKind.iaf_code, TermKind.food_chain, TermKind.md9_area})
SUSPENDED_PREVIEW = 10  # suspended lines named in the "partially suspended" notice


@dataclass
class ScopeColumn:
    label: object
    parts: tuple[str, ...]  # field names (and literal separators like "–")
    terms: dict[str, TermKind]


def scope_columns(scope_type: str) -> list[ScopeColumn]:
    try:
        specs = schemas.SCHEMAS[ScopeType(scope_type)]
    except (KeyError, ValueError):
        return []
    terms = {s.name: s.terms for s in specs if s.terms is not None}  # codes shown by name
    if scope_type == ScopeType.calibration.value:
        return [ScopeColumn(label, parts, terms) for label, parts in _CAL_COLUMNS]
    return [ScopeColumn(s.label, (s.name,), terms) for s in specs]


class _Terms:
    """Reference-list names of the codes a scope shows, each list read once per page."""

    def __init__(self, kinds) -> None:
        self._lists = {kind: refdata.terms(kind) for kind in set(kinds)}

    def label(self, kind: TermKind, code: str) -> str:
        term = self._lists.get(kind, {}).get(code)
        if term is None:
            return code
        return f"{code} – {term.name}" if kind in _CODED else term.name


def _cell(column: ScopeColumn, fields: dict, terms: _Terms) -> str:
    """The words of one cell: its fields' values (codes by name), a separator ("to") only
    between two values."""
    words: list[tuple[bool, str]] = []  # (is a separator, text)
    for part in column.parts:
        if not isinstance(part, str):
            words.append((True, str(part)))
            continue
        value = fields.get(part)
        if value is None or value == "" or value == []:
            continue
        kind = column.terms.get(part)
        values = value if isinstance(value, list) else [value]
        words.append((False, "; ".join(terms.label(kind, str(v)) if kind is not None
                                       else str(v) for v in values)))
    kept = [text for i, (sep, text) in enumerate(words)
            if not sep or (0 < i < len(words) - 1 and not words[i - 1][0]
                           and not words[i + 1][0])]
    return " ".join(kept)


@bp.get("/<path:number>")
@public_endpoint
def entry(number: str):
    entry = _entry_or_404(number)
    page = _page()
    suspended_only = request.args.get("lines") == "suspended" and entry.lines_suspended > 0
    lines, total = services.entry_lines(entry, page, suspended_only=suspended_only,
                                        per_page=services.LINES_PAGE_SIZE)
    suspended_preview = []
    if entry.status == PublicStatus.partially_suspended.value and entry.lines_suspended:
        suspended_preview, _n = services.entry_lines(entry, 1, suspended_only=True,
                                                     per_page=SUSPENDED_PREVIEW)
    columns = scope_columns(entry.scope_type)
    terms = _Terms(kind for c in columns for kind in c.terms.values()
                   if any(p in c.terms for p in c.parts))
    rows = [(line, [_cell(c, line.fields or {}, terms) for c in columns]) for line in lines]
    documents = {kind: certificates.current_document(entry.accreditation_id, kind)
                 for kind in DOCUMENT_KINDS}
    return render_template(
        "directory/entry.html", entry=entry, lines=lines, rows=rows, columns=columns,
        lines_shown=total, page=page,
        pages=_pages(total, services.LINES_PAGE_SIZE), suspended_only=suspended_only,
        suspended_preview=suspended_preview,
        history=services.entry_history(entry), documents=documents,
        line_labels={k: str(v) for k, v in LINE_STATUS_LABELS.items()},
        sanction_labels=SANCTION_LABELS,
        status_label=status_label, today=date.today(),
        data_url=_endpoint_url("tenant.directory_data.index"))


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


@bp.get("/<path:number>/schedule.pdf")
@public_endpoint
def schedule_pdf(number: str):
    return _serve(number, "schedule")


@bp.get("/<path:number>/certificate.pdf")
@public_endpoint
def certificate_pdf(number: str):
    return _serve(number, "certificate")
