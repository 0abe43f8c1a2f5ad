"""Searching the public directory: one function, two back ends (issue 7 point 6).

``parse(args)`` turns query-string arguments into a :class:`Query` (or raises
:class:`QueryError` naming the bad parameters); ``search(query)`` answers it from the public
projection only (``DirectoryEntry`` and what the index derives from it), across every active
tenant or one (``Query.tenant``), leaving out entries whose retention ended (rule 27).

The HTML directory pages (``/directory``, ``/<tenant>/directory``), the JSON API
(``/api/v1/accreditations``) and the benchmark all call these two functions.

SKELETON: matching is a plain LIKE over ``search_text`` until the FTS5 / tsvector back ends land.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from accreditor.core.tenancy import ALL_TENANTS
from accreditor.directory.models import DirectoryEntry, PublicStatus
from accreditor.extensions import db
from accreditor.refdata.models import ScopeType
from accreditor.tenants.models import Tenant

MAX_QUERY_CHARS = 200  # a longer query is cut here (never an error)
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100  # a larger per_page is clamped to this
MAX_PAGE = 10_000
SORTS = ("relevance", "name")
PROGRAMMES = tuple(t.value for t in ScopeType)
STATUSES = tuple(s.value for s in PublicStatus)
FACETS = ("tenant", "programme", "status", "country", "iaf_code", "field")


class QueryError(ValueError):
    """Bad search parameters: ``errors`` maps each parameter to a message for the user."""

    code = "invalid_parameter"

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Query:
    q: str = ""
    tenant: str | None = None  # tenant slug
    programme: str | None = None  # a ScopeType value
    status: str | None = None  # a PublicStatus value
    country: str | None = None  # ISO 3166-1 alpha-2, upper case
    iaf_code: str | None = None  # "28", "3"… (17021-1 technical areas)
    field: str | None = None  # testing field / calibration discipline, as published
    sort: str = "relevance"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    def with_(self, **changes) -> Query:
        return replace(self, **changes)

    def args(self) -> dict[str, str | int]:
        """The query as URL arguments (defaults left out): shareable links and pagers."""
        out: dict[str, str | int] = {}
        for name in ("q", "tenant", "programme", "status", "country", "iaf_code", "field"):
            value = getattr(self, name)
            if value:
                out[name] = value
        if self.sort != "relevance":
            out["sort"] = self.sort
        if self.page != 1:
            out["page"] = self.page
        if self.per_page != DEFAULT_PER_PAGE:
            out["per_page"] = self.per_page
        return out


@dataclass
class Facet:
    value: str
    label: str
    count: int


@dataclass
class Hit:
    entry: DirectoryEntry
    tenant_slug: str
    tenant_name: str


@dataclass
class Result:
    query: Query
    hits: list[Hit]
    total: int
    facets: dict[str, list[Facet]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))


def _int(args: Mapping[str, str], name: str, default: int, errors: dict) -> int:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        errors[name] = str(_l("Must be a whole number."))
        return default


def parse(args: Mapping[str, str], *, tenant: str | None = None) -> Query:
    """A Query from request arguments. Unknown programme/status/sort, a page below 1 or a
    non-number raise QueryError; a long query is cut and per_page clamped to 1..100.
    ``tenant`` (the per-AB page) overrides any ``tenant`` argument."""
    errors: dict[str, str] = {}
    q = " ".join((args.get("q") or "").replace("\x00", " ").split())[:MAX_QUERY_CHARS]
    programme = (args.get("programme") or "").strip() or None
    if programme and programme not in PROGRAMMES:
        errors["programme"] = str(_l("Unknown programme."))
    status = (args.get("status") or "").strip() or None
    if status and status not in STATUSES:
        errors["status"] = str(_l("Unknown status."))
    sort = (args.get("sort") or "relevance").strip()
    if sort not in SORTS:
        errors["sort"] = str(_l("Sort by relevance or name."))
    country = (args.get("country") or "").strip().upper() or None
    if country and (len(country) != 2 or not country.isalpha()):
        errors["country"] = str(_l("A two-letter country code, e.g. GB."))
    page = _int(args, "page", 1, errors)
    if page < 1:
        errors["page"] = str(_l("Pages start at 1."))
    per_page = max(1, min(_int(args, "per_page", DEFAULT_PER_PAGE, errors), MAX_PER_PAGE))
    if errors:
        raise QueryError(errors)
    return Query(
        q=q, tenant=tenant or (args.get("tenant") or "").strip()[:40] or None,
        programme=programme, status=status, country=country,
        iaf_code=(args.get("iaf_code") or "").strip()[:20] or None,
        field=(args.get("field") or "").strip()[:120] or None,
        sort=sort, page=min(page, MAX_PAGE), per_page=per_page)


def visible(today: date):
    return or_(DirectoryEntry.visible_until.is_(None), DirectoryEntry.visible_until >= today)


def search(query: Query, *, today: date | None = None, facets: bool = True) -> Result:
    """One page of matching visible entries with the total and (when asked) facet counts."""
    today = today or date.today()
    stmt = (select(DirectoryEntry, Tenant.slug, Tenant.name)
            .join(Tenant, Tenant.id == DirectoryEntry.tenant_id)
            .where(Tenant.is_active, visible(today))
            .execution_options(**{ALL_TENANTS: True}))
    if query.tenant:
        stmt = stmt.where(Tenant.slug == query.tenant)
    if query.programme:
        stmt = stmt.where(DirectoryEntry.scope_type == query.programme)
    if query.status:
        stmt = stmt.where(DirectoryEntry.status == query.status)
    if query.country:
        stmt = stmt.where(DirectoryEntry.country == query.country)
    for word in query.q.lower().split():
        stmt = stmt.where(DirectoryEntry.search_text.contains(word, autoescape=True))
    total = db.session.execute(
        select(func.count()).select_from(stmt.subquery())
        .execution_options(**{ALL_TENANTS: True})).scalar_one()
    rows = db.session.execute(
        stmt.order_by(DirectoryEntry.legal_name, DirectoryEntry.number, DirectoryEntry.id)
        .limit(query.per_page).offset((query.page - 1) * query.per_page)).all()
    hits = [Hit(entry, slug, name) for entry, slug, name in rows]
    return Result(query, hits, total, {})


def index_entry(entry: DirectoryEntry, lines: list[dict]) -> None:
    """Refresh the search index (and facet values) of one entry after ``publish`` wrote it,
    in the caller's transaction. ``lines`` are the public lines as published."""


def rebuild_index(*, tenant_id: int | None = None) -> int:
    """Rebuild the search index and facet values of every entry (of one tenant) in bulk, from
    the directory tables alone; returns how many entries were indexed. ``flask directory
    rebuild`` and ``flask bench seed`` call it."""
    return 0
