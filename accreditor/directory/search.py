"""Searching the public directory: one function, two back ends (issue 7 point 6).

``parse(args)`` turns query-string arguments into a :class:`Query` (or raises
:class:`QueryError` naming the bad parameters); ``search(query)`` answers it from the public
projection only (``DirectoryEntry`` and the search rows derived from it), across every active
tenant or one (``Query.tenant``), leaving out entries whose retention ended (rule 27).

The HTML directory pages (``/directory``, ``/<tenant>/directory``), the JSON API
(``/api/v1/accreditations``) and the benchmark all call these two functions. docs/search.md
describes the behaviour; in short:

* **Index.** ``directory_search`` holds one row per entry (filters, a normalised name, the
  lower-cased number, the entry's own words); ``directory_search_values`` its IAF codes and
  fields/disciplines; ``directory_search_counts`` the facet counts of searches without words
  (at eight grains: a search sums the rows of its filters' grain);
  ``directory_search_words`` the words of names (for corrections). The document (the entry's own
  words + every line's summary and field values) is a ``tsvector`` with a GIN index on
  PostgreSQL and the FTS5 table ``directory_fts`` on SQLite. ``index_entry`` (in the publish
  transaction) and ``rebuild_index`` (set-based) write them; nothing else does.
* **Words.** The query is read the way ``websearch_to_tsquery`` reads it — ``"a phrase"``,
  ``or`` between two terms, ``-word`` to exclude, every other word required — by *our* parser,
  which keeps only letters and digits; the back end then gets a query built from those words,
  each quoted (FTS5 ``MATCH``; PostgreSQL ``to_tsquery('simple', …)`` on the stripped document
  ``tsw`` and, for phrases, ``websearch_to_tsquery('simple', …)`` on the positional ``tsv``).
  Raw input never reaches either. Both sides tokenise the same way (letters/digits runs, lower case, accents kept, no
  stemming), so they find the same entries. A query of one token with a digit also finds
  accreditation numbers containing it ("0123"); when nothing is found, misspelled words are
  replaced by the name words most like them (trigram similarity ≥ ``SIMILARITY``).
* **Ranking** (both back ends, same order): tier 0 the exact accreditation number; tier 1 a
  number containing the query, or a name starting (at a word) with the query's words as typed;
  tier 2 names holding every query word (at word starts); tier 3 the rest (scope text, places);
  ties by normalised name, then number. ``sort=name`` orders by name, number only.
* **Facets**: counts per tenant, programme, status, country, IAF code and field over the
  matching entries **with every other filter applied but not the facet's own** (so choosing a
  value still shows its siblings' counts); each capped to ``FACET_LIMIT`` values by count.
* **Bounded work** (docs/search.md): a search with words counts up to ``COUNT_CAP`` matches
  (``Result.total_exact`` False beyond: "more than"), takes facet counts over the first
  ``FACET_CAP`` matches the index gives (rows written in a scrambled order: a pseudo-random
  sample; ``Result.facets_exact``), and builds its page by sorting every match when there are
  at most ``PLAN_CAP`` of them, else in name order off the order index (each name tier its
  cheapest way) — never a walk checking documents for rare matches, never a sort of a common
  word's matches. A search without words sums the counts table at its filters' grain.
"""

# The statements here are assembled from fixed fragments; every value a user gave is a bind
# parameter (``_Sql.p``), never text in the statement:
# ruff: noqa: S608

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Date,
    Integer,
    String,
    bindparam,
    cast,
    delete,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row

from accreditor.core.tenancy import ALL_TENANTS
from accreditor.directory import cache
from accreditor.directory.models import (
    FOREVER,
    GRAIN_BITS,
    LATER_NAME_WORDS,
    NAME_WORD_CHARS,
    DirectoryEntry,
    DirectorySearchCount,
    DirectorySearchWord,
    PublicStatus,
    is_fts_table,
    status_label,
)
from accreditor.extensions import db
from accreditor.refdata.models import RefTerm, ScopeType, TermKind
from accreditor.tenants.models import Tenant

MAX_QUERY_CHARS = 200  # a longer query is cut here (never an error)
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100  # a larger per_page is clamped to this
MAX_PAGE = 10_000
SORTS = ("relevance", "name")
PROGRAMMES = tuple(t.value for t in ScopeType)
STATUSES = tuple(s.value for s in PublicStatus)
FACETS = ("tenant", "programme", "status", "country", "iaf_code", "field")
FACET_LIMIT = 20  # values shown per facet, the most frequent first
COUNT_CAP = 1000  # a search counts its matches up to this; beyond, "more than COUNT_CAP"
# Up to this many matches a page is sorted from all of them; beyond, walked in name order
# (docs/search.md): SQLite sorts a few thousand FTS5 matches faster than it walks.
PLAN_CAP = {"postgresql": 1000, "sqlite": 5000}
WALK = 1000  # name-ordered rows read for a page of name matches before sorting them all instead
FACET_CAP = 500  # facet counts are over at most this many matches (the first the index gives)
MAX_TERMS = 12  # query terms kept (words and phrases)
MAX_TERM_WORDS = 8  # words kept per phrase
DOC_CHARS = 200_000  # scope text indexed per entry
SIMILARITY = 0.4  # trigram similarity of a correction (pg_trgm's measure)
MAX_CORRECTIONS = 5  # alternatives per misspelled word
MULTI_KINDS = ("iaf_code", "field")  # multi-valued filters, from the lines' fields

PROGRAMME_LABELS = {
    ScopeType.testing.value: _l("Testing laboratories (ISO/IEC 17025)"),
    ScopeType.calibration.value: _l("Calibration laboratories (ISO/IEC 17025)"),
    ScopeType.inspection.value: _l("Inspection bodies (ISO/IEC 17020)"),
    ScopeType.ms_certification.value: _l("Management system certification (ISO/IEC 17021-1)"),
    ScopeType.person_certification.value: _l("Certification of persons (ISO/IEC 17024)"),
    ScopeType.generic.value: _l("Other programmes"),
}
FIELD_TERM_KINDS = (TermKind.testing_field.value, TermKind.calibration_discipline.value,
                    TermKind.inspection_field.value)


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
    entry: Row  # the listed columns of the DirectoryEntry (_HIT_COLUMNS), by name
    tenant_slug: str
    tenant_name: str
    tier: int = 3  # 0 number, 1 number part or name phrase, 2 name words, 3 other text


@dataclass
class Result:
    query: Query
    hits: list[Hit]
    total: int
    facets: dict[str, list[Facet]] = field(default_factory=dict)
    # Misspelled words replaced when the query as typed found nothing: word -> alternatives.
    corrections: dict[str, list[str]] = field(default_factory=dict)
    # False when more than COUNT_CAP entries match: ``total`` is then COUNT_CAP, a lower bound
    # (pages say "more than 10,000"); the pager stops there.
    total_exact: bool = True
    # False when the facet counts were taken over the first FACET_CAP matches (in name order)
    # only: each count is then a lower bound.
    facets_exact: bool = True
    # Matches of the words whatever the other filters (the facet sample, up to FACET_CAP + 1;
    # 0 when facets were not asked for: no sample): words that match are not misspelled.
    sampled: int = 0

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


def _clean(value: str | None, limit: int) -> str | None:
    """An argument without NUL bytes and control characters, trimmed and cut."""
    value = "".join(c for c in (value or "") if c >= " " and c != "\x7f").strip()
    return value[:limit] or None


def parse(args: Mapping[str, str], *, tenant: str | None = None) -> Query:
    """A Query from request arguments. Unknown programme/status/sort, a page below 1 or a
    non-number raise QueryError; a long query is cut and per_page clamped to 1..100.
    ``tenant`` (the per-AB page) overrides any ``tenant`` argument."""
    errors: dict[str, str] = {}
    q = " ".join((args.get("q") or "")[:MAX_QUERY_CHARS * 4].replace("\x00", " ").split())
    q = q[:MAX_QUERY_CHARS]
    programme = _clean(args.get("programme"), 40)
    if programme and programme not in PROGRAMMES:
        errors["programme"] = str(_l("Unknown programme."))
    status = _clean(args.get("status"), 40)
    if status and status not in STATUSES:
        errors["status"] = str(_l("Unknown status."))
    sort = _clean(args.get("sort"), 20) or "relevance"
    if sort not in SORTS:
        errors["sort"] = str(_l("Sort by relevance or name."))
    country = (_clean(args.get("country"), 10) or "").upper() or None
    if country and (len(country) != 2 or not country.isalpha() or not country.isascii()):
        errors["country"] = str(_l("A two-letter country code, e.g. GB."))
    page = _int(args, "page", 1, errors)
    if page < 1:
        errors["page"] = str(_l("Pages start at 1."))
    per_page = max(1, min(_int(args, "per_page", DEFAULT_PER_PAGE, errors), MAX_PER_PAGE))
    if errors:
        raise QueryError(errors)
    return Query(
        q=q, tenant=tenant or _clean(args.get("tenant"), 40),
        programme=programme, status=status, country=country,
        iaf_code=_clean(args.get("iaf_code"), 20), field=_clean(args.get("field"), 60),
        sort=sort, page=min(page, MAX_PAGE), per_page=per_page)


def visible(today: date):
    return or_(DirectoryEntry.visible_until.is_(None), DirectoryEntry.visible_until >= today)


# -- reading the words of a query -------------------------------------------------------------------

_WORDS = re.compile(r"[^\W_]+")


def words_of(value: str) -> list[str]:
    """Letters-and-digits runs, lower case: how both back ends cut text into words."""
    return _WORDS.findall((value or "").lower())


def normalise(value: str) -> str:
    return " ".join(words_of(value))


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # one word, or a phrase (adjacent words)


@dataclass(frozen=True)
class TextQuery:
    """``groups`` are AND-ed, the terms of a group OR-ed; ``excluded`` terms must not occur."""

    groups: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = ()
    has_or: bool = False

    def __bool__(self) -> bool:
        return bool(self.groups)

    def fts5(self) -> str:
        """An FTS5 MATCH expression: every term a quoted string of plain words."""
        def term(t: Term) -> str:
            return '"' + " ".join(t.words) + '"'

        def group(g: tuple[Term, ...]) -> str:
            return term(g[0]) if len(g) == 1 else "(" + " OR ".join(map(term, g)) + ")"

        out = " AND ".join(group(g) for g in self.groups)
        if self.excluded:
            out = f"({out}) NOT (" + " OR ".join(map(term, self.excluded)) + ")"
        return out

    def websearch(self) -> str:
        """The same query in ``websearch_to_tsquery`` syntax, every term quoted."""
        def term(t: Term) -> str:
            return '"' + " ".join(t.words) + '"'

        parts = [" or ".join(map(term, g)) for g in self.groups]
        parts += ["-" + term(t) for t in self.excluded]
        return " ".join(parts)

    def positive_words(self) -> list[str]:
        return [w for g in self.groups for t in g for w in t.words]


def read_query(q: str) -> TextQuery:
    """Read ``q`` as ``websearch_to_tsquery`` does: ``"quoted phrase"`` (an unclosed quote runs to
    the end), ``or`` between two terms, ``-term`` excluded, every other word required. Only
    letters and digits survive; a query of exclusions only is no query (it would match nearly
    everything)."""
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    pending_or = has_or = False
    i, n = 0, len(q)
    count = 0
    while i < n and count < MAX_TERMS:
        c = q[i]
        if c.isspace():
            i += 1
            continue
        negated = False
        if c == "-" and i + 1 < n and not q[i + 1].isspace():
            negated, i = True, i + 1
        if i < n and q[i] == '"':
            end = q.find('"', i + 1)
            end = n if end < 0 else end
            raw, quoted, i = q[i + 1:end], True, end + 1
        else:
            j = i
            while j < n and not q[j].isspace() and q[j] != '"':
                j += 1
            raw, quoted, i = q[i:j], False, j
        words = tuple(words_of(raw)[:MAX_TERM_WORDS])
        if not words:
            continue
        if not quoted and not negated and words == ("or",):
            pending_or = bool(groups)
            continue
        count += 1
        t = Term(words)
        if negated:
            excluded.append(t)
        elif pending_or and groups:
            groups[-1].append(t)
            has_or = True
        else:
            groups.append([t])
        pending_or = False
    if not groups:
        return TextQuery()
    return TextQuery(tuple(tuple(g) for g in groups), tuple(excluded), has_or)


# -- trigram similarity (pg_trgm's) -----------------------------------------------------------------


def trigrams(word: str) -> set[str]:
    """pg_trgm's trigrams of one word: lower case, two spaces before and one after."""
    padded = f"  {word.lower()} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


def similarity(a: str, b: str) -> float:
    """pg_trgm ``similarity()`` of two words: shared trigrams over all trigrams."""
    ta, tb = trigrams(a), trigrams(b)
    return len(ta & tb) / len(ta | tb) if ta or tb else 0.0


# -- searching ----------------------------------------------------------------------------------------


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _Sql:
    """Bind parameters with generated names, and the statement text around them."""

    def __init__(self, pg: bool):
        self.pg = pg
        self.params: dict[str, object] = {}
        self.types: dict[str, object] = {}

    def p(self, value, type_=None) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        if type_ is not None:
            self.types[name] = type_
        return f":{name}"

    def statement(self, sql: str):
        stmt = text(sql)
        binds = [bindparam(k, type_=t) for k, t in self.types.items()]
        return stmt.bindparams(*binds) if binds else stmt


def _filters(sql: _Sql, query: Query, alias: str, skip: str | None = None) -> str:
    """The WHERE conditions of the query's filters on ``alias`` (a search row: tenant_id,
    scope_type, status, country, codes), leaving out ``skip``'s own."""
    conds = ["1 = 1"]
    if query.tenant and skip != "tenant":
        conds.append(f"{alias}.tenant_id IN (SELECT id FROM tenants WHERE slug = "
                     f"{sql.p(query.tenant)})")
    for name, column in (("programme", "scope_type"), ("status", "status"),
                         ("country", "country")):
        value = getattr(query, name)
        if value and name != skip:
            conds.append(f"{alias}.{column} = {sql.p(value)}")
    for kind in MULTI_KINDS:
        value = getattr(query, kind)
        if value and kind != skip and alias == "s":  # a search row: its values, by index
            conds.append(f"s.entry_id IN (SELECT v.entry_id FROM directory_search_values v "
                         f"WHERE v.kind = '{kind}' AND v.value = {sql.p(value)})")
        elif value and kind != skip:
            pattern = "%" + _like(json.dumps(f"{kind}:{value}")) + "%"
            conds.append(f"{alias}.codes LIKE {sql.p(pattern)} ESCAPE '\\'")
    return " AND ".join(conds)


def _order(sql: _Sql, query: Query, alias: str, tiers: bool) -> str:
    # (PostgreSQL: sort_key and number in collation "C", as their index; SQLite compares bytes)
    keys = [f"{alias}.sort_key", f"{alias}.number", f"{alias}.entry_id"]
    if tiers and query.sort == "relevance":
        keys.insert(0, f"{alias}.tier")
    return ", ".join(keys)


def _tsquery(tq: TextQuery) -> str:
    """``to_tsquery`` text for the stripped document: every word quoted, a phrase's words
    AND-ed (the positional document checks the phrase), excluded single words negated."""
    def term(t: Term) -> str:
        return "(" + " & ".join(f"'{w}'" for w in t.words) + ")"

    out = " & ".join("(" + " | ".join(map(term, g)) + ")" for g in tq.groups)
    for t in tq.excluded:
        if len(t.words) == 1:
            out += f" & !'{t.words[0]}'"
    return out


def _prefix_query(word: str) -> str:
    """A tsquery (verbatim lexemes) for the lexemes starting with ``word``."""
    return "'" + word.replace("'", "''") + "':*"


def _text_match(sql: _Sql, tq: TextQuery, q: str) -> tuple[str, str, dict[int, str]]:
    """The condition finding the query's entries, the CASE giving each its tier, and each
    tier's condition (tiers 1 and 2 through the number and names' indexes on PostgreSQL)."""
    if sql.pg:
        match = f"s.tsw @@ to_tsquery('simple', {sql.p(_tsquery(tq))})"
        if any(len(t.words) > 1 for g in (*tq.groups, tq.excluded) for t in g):
            match += f" AND s.tsv @@ websearch_to_tsquery('simple', {sql.p(tq.websearch())})"
    else:
        match = ("s.entry_id IN (SELECT rowid FROM directory_fts WHERE directory_fts MATCH "
                 f"{sql.p(tq.fts5())})")
    raw = q.strip().lower()
    number_like = None
    if raw and len(raw) >= 3 and " " not in raw and any(c.isdigit() for c in raw):
        number_like = sql.p("%" + _like(raw) + "%")
        match = f"(({match}) OR s.number_key LIKE {number_like} ESCAPE '\\')"
    tier1 = []
    if number_like:
        tier1.append(f"s.number_key LIKE {number_like} ESCAPE '\\'")
    if not tq.has_or:
        phrase = _like(" ".join(tq.positive_words()))
        tier1.append(f"s.name_key LIKE {sql.p(phrase + '%')} ESCAPE '\\'")
        tier1.append(f"s.name_key LIKE {sql.p('% ' + phrase + '%')} ESCAPE '\\'")

    def in_name(t: Term) -> str:
        return " AND ".join(
            f"(s.name_key LIKE {sql.p(_like(w) + '%')} ESCAPE '\\' OR "
            f"s.name_key LIKE {sql.p('% ' + _like(w) + '%')} ESCAPE '\\')" for w in t.words)

    tier2 = " AND ".join("(" + " OR ".join(f"({in_name(t)})" for t in g) + ")"
                         for g in tq.groups)
    # A cheap necessary condition first (each group's first word somewhere in the names), so
    # the LIKEs run only for the few rows whose names can rank above tier 3.
    find = "strpos" if sql.pg else "instr"
    gate = " AND ".join("(" + " OR ".join(f"{find}(s.name_key, {sql.p(t.words[0])}) > 0"
                                          for t in g) + ")" for g in tq.groups)
    number_tier = f"WHEN {tier1[0]} THEN 1 " if number_like else ""
    exact = f"s.number_key = {sql.p(raw)}"
    tier = (f"CASE WHEN {exact} THEN 0 {number_tier}"
            f"WHEN NOT ({gate}) THEN 3 "
            f"WHEN {' OR '.join(tier1) or '1 = 0'} THEN 1 "
            f"WHEN {tier2} THEN 2 ELSE 3 END")
    # Each tier as a plain condition (what the CASE decides), so that the planner estimates
    # it from the columns' statistics and finds each tier's first rows its cheapest way.
    num = tier1[0] if number_like else "1 = 0"
    phr = " OR ".join(tier1[1 if number_like else 0:]) or "1 = 0"
    rest = f"NOT ({exact}) AND NOT ({num})"
    if not number_like:
        # Tiers 1 and 2 need every word of a term (per group) at the start of a name word: when
        # the words of published names (directory_search_words, a superset) hold no such word,
        # the pass is skipped (an uncorrelated EXISTS: evaluated once, through its index).
        def known(w: str) -> str:
            if not (w.isalpha() and 3 <= len(w) <= 80):
                return "1 = 1"  # such words are not kept there: no conclusion
            return (f"EXISTS (SELECT 1 FROM directory_search_words w WHERE w.word LIKE "
                    f"{sql.p(_like(w) + '%')} ESCAPE '\\')")
        guard = " AND ".join("(" + " OR ".join(
            "(" + " AND ".join(known(w) for w in t.words) + ")" for t in g) + ")"
            for g in tq.groups)
        gate = f"({guard}) AND {gate}"
    # What tiers 1 and 2 need, through indexes: on PostgreSQL every word of a term (per group)
    # starting a name word — the first (sort_key's: a range of the order index) or a later one
    # (a prefix query on LATER_NAME_WORDS) — exactly, or the number containing the query.
    def first_or_later(w: str) -> tuple[str, str]:
        return (f"s.sort_key LIKE {sql.p(_like(w) + '%')} ESCAPE '\\'",
                f"{LATER_NAME_WORDS.format(alias='s.')} @@ "
                f"CAST({sql.p(_prefix_query(w))} AS tsquery)")

    names, single = "1 = 1", None
    if sql.pg:
        names = " AND ".join("(" + " OR ".join("(" + " AND ".join(
            "({} OR {})".format(*first_or_later(w)) for w in t.words) + ")" for t in g) + ")"
            for g in tq.groups)
        if number_like:
            names = f"({names} OR {tier1[0]})"
        # One word (not a number): its name matches are the rows whose first name word
        # starts with it (together in name order) and those with a later one that does.
        if not number_like and len(tq.groups) == 1 and len(tq.groups[0]) == 1 \
                and len(tq.groups[0][0].words) == 1:
            single = first_or_later(tq.groups[0][0].words[0])
    tiers = {"names": names, "single": single,
             0: exact, 1: f"NOT ({exact}) AND ({num} OR (({gate}) AND ({phr})))",
             2: f"{rest} AND ({gate}) AND NOT ({phr}) AND ({tier2})",
             3: f"{rest} AND NOT (({gate}) AND (({phr}) OR ({tier2})))"}
    return match, tier, tiers


# (ORDER BY: an index path to plan by when sequential scans are off)
ACTIVE = "SELECT id FROM tenants WHERE is_active ORDER BY id"
_ROW = "SELECT {kind} AS kind, {value} AS value, {n} AS n, {pos} AS pos"
_SCALAR = (("tenant", "m.tenant_id"), ("programme", "m.scope_type"), ("status", "m.status"),
           ("country", "m.country"))


# One row ``c.value`` ('iaf_code:28') per code of each row of m, from the values table (by its
# primary key: no parsing of ``codes``).
_VALUES_OF_M = ("JOIN (SELECT v.entry_id, v.kind || ':' || v.value AS value FROM "
                "directory_search_values v) c ON c.entry_id = m.entry_id")


def _count_parts(sql: _Sql, query: Query) -> list[str]:
    """The facet counts over the sample ``m`` (each facet with the other filters) and the
    sample's own total ('sample_total'): one GROUPING SETS pass on PostgreSQL, one GROUP BY per
    facet on SQLite; the codes in one pass (each code counted where the filters other than its
    kind's hold)."""
    def when(cond: str) -> str:
        return f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)"

    total = when(_filters(sql, query, "m"))
    code_n = when(
        f"(CASE WHEN c.value LIKE 'iaf_code:%' THEN ({_filters(sql, query, 'm', 'iaf_code')}) "
        f"ELSE ({_filters(sql, query, 'm', 'field')}) END)")
    parts = [_ROW.format(kind="'code'", value="c.value", n=code_n, pos="0")
             + f" FROM m {_VALUES_OF_M} GROUP BY c.value"]
    if sql.pg:
        grouping = ", ".join(f"({column})" for _name, column in _SCALAR)
        kinds = " ".join(f"WHEN GROUPING({column}) = 0 THEN '{name}'" for name, column in _SCALAR)
        values = ("COALESCE(CAST(m.tenant_id AS VARCHAR(20)), m.scope_type, m.status, "
                  "m.country, '')")
        counts = " ".join(f"WHEN GROUPING({column}) = 0 THEN "
                          f"{when(_filters(sql, query, 'm', name))}" for name, column in _SCALAR)
        parts.append(_ROW.format(kind=f"CASE {kinds} ELSE 'sample_total' END", value=values,
                                 n=f"CASE {counts} ELSE {total} END", pos="0")
                     + f" FROM m GROUP BY GROUPING SETS ({grouping}, ())")
        return parts
    parts.append(_ROW.format(kind="'sample_total'", value="''", n=total, pos="0")
                 + " FROM m WHERE 1 = 1")
    for name, column in _SCALAR:
        value = f"CAST({column} AS VARCHAR(20))" if name == "tenant" else column
        parts.append(_ROW.format(kind=f"'{name}'", value=value,
                                 n=when(_filters(sql, query, "m", name)), pos="0")
                     + f" FROM m GROUP BY {column}")
    return parts


# directory_search_counts' grains: (column, bit) of each single-valued filter it can keep, and
# each query filter's bit (programme is the column scope_type).
_DIMS = tuple(GRAIN_BITS.items())
_FILTER_BITS = {"programme": GRAIN_BITS["scope_type"], "status": GRAIN_BITS["status"],
                "country": GRAIN_BITS["country"]}


def _grain(query: Query) -> int:
    """The grain of directory_search_counts that keeps the query's single-valued filters."""
    return sum(bit for name, bit in _FILTER_BITS.items() if getattr(query, name))


ENTRIES = "''"  # directory_search_counts.kind of the rows counting entries (not values)


def _summed(sql: _Sql, query: Query, today: date, grain: int, kinds: str,
            filtered: bool) -> str:
    """A FROM item ``mc``: the rows of directory_search_counts at ``grain`` of ``kinds`` ('' the
    entries, or the values of those kinds) still listed today, of active ABs, as (tenant_id,
    scope_type, status, country, kind, value, n) — with the query's single-valued filters when
    ``filtered`` (else the caller filters each sum)."""
    scalar = replace(query, iaf_code=None, field=None)
    where = (f"c.grain = {grain} AND c.kind IN ({kinds}) AND c.until >= "
             f"{sql.p(today, Date())} AND c.tenant_id IN ({ACTIVE}) AND c.n > 0")
    if filtered:
        where += f" AND {_filters(sql, scalar, 'c')}"
    return ("(SELECT c.tenant_id, c.scope_type, c.status, c.country, c.kind, c.value, c.n "
            f"FROM directory_search_counts c WHERE {where}) mc")


def search(query: Query, *, today: date | None = None, facets: bool = True) -> Result:
    """One page of matching visible entries with the total and (when asked) facet counts.
    Statements: one for the page, total and counts, one loading the page's entries, one for
    the facet labels; a query that found nothing and has misspelled-looking words adds one
    (the corrections) and runs again."""
    today = today or date.today()
    pg = _dialect() == "postgresql"
    tq = read_query(query.q)
    result = _run(query, tq, today, facets, pg)
    if result.total == 0 and tq and not result.sampled:
        corrections = _corrections(tq, pg)
        if corrections:
            expanded = TextQuery(tuple(
                tuple(t for term in g for t in (term, *(
                    Term((w,)) for w in corrections.get(term.words[0], ())
                    if len(term.words) == 1))) for g in tq.groups), tq.excluded, tq.has_or)
            result = _run(query, expanded, today, facets, pg)
            result.corrections = corrections
    return result


def _run(query: Query, tq: TextQuery, today: date, facets: bool, pg: bool) -> Result:
    sql = _Sql(pg)
    offset = (query.page - 1) * query.per_page
    limit = f"LIMIT {sql.p(query.per_page, Integer())} OFFSET {sql.p(offset, Integer())}"
    # ``+ 0``: the active-tenant check must not drive the plan through the filters index
    # (tenant_id first): the planner then joined the tenants first and scanned the document's
    # index once per tenant (50 times: ~80 ms for "IAF 28" with filters; this way ~5 ms).
    # PostgreSQL: a filter against the array of active tenants (read once), not a join — as a
    # join, misestimated, it was a nested loop scanning the tenants once per row (~16 ms for
    # 3,000 name matches).
    active = f"= ANY(ARRAY({ACTIVE}))" if pg else f"IN ({ACTIVE})"
    visible_rows = f"s.tenant_id + 0 {active} AND s.until >= {sql.p(today, Date())}"
    parts: list[str] = []
    multi = [k for k in MULTI_KINDS if getattr(query, k)]
    if tq or multi:
        # Bounded work whatever the number of matches. ``n`` counts the wanted matches (words
        # and filters) up to the caps + 1, through the document's index. Then the page comes
        # one of two ways, chosen by that count inside the statement (the other part is a
        # one-time false filter: never run):
        # * few (≤ PLAN_CAP): every wanted match, read through the index, tiered and sorted;
        # * many: each tier's first rows off the sort_key index (tier 0 by the number, tiers
        #   1-2 the names, tier 3 the rest), stopping early — a common word's matches are
        #   dense in name order, so ``top`` of them are found within ~top / share rows.
        # Walking the sort_key index for a rare match reads each row's document (~20 µs a
        # row, out of line on PostgreSQL) through most of the directory; sorting every match
        # of a common word reads them all (~1 µs each): the count picks the cheap one.
        # The facets are counted over the first FACET_CAP + 1 matches as they come out of
        # the index (no sort).
        if tq:
            match, tier, tiers = _text_match(sql, tq, query.q)
        else:  # only IAF/field filters: the rows carrying one of the values, by index
            match = "(" + " OR ".join(
                f"s.entry_id IN (SELECT v.entry_id FROM directory_search_values v WHERE "
                f"v.kind = '{k}' AND v.value = {sql.p(getattr(query, k))})" for k in multi) + ")"
            tier, tiers = "3", {}
        found = f"{visible_rows} AND {match}"
        filters = _filters(sql, query, "s")
        wanted = f"{visible_rows} AND {filters} AND {match}"
        # For a walk row by row: a row's document is read only when its cheap columns pass
        # the filters (PostgreSQL would check an equality with a constant last).
        walked_rows = (f"{visible_rows} AND CASE WHEN {filters} THEN {match} ELSE 1 = 0 END"
                       if pg else wanted)
        top = sql.p(offset + query.per_page, Integer())
        plan_cap = PLAN_CAP["postgresql" if pg else "sqlite"]
        cap = sql.p(plan_cap, Integer())
        # ``nw``: the wanted matches counted (up to the larger cap + 1), kept with what ranks them:
        # when they are few, the page is sorted from them (the document's index read once).
        # PostgreSQL, no filters: they are the facet sample too (the first matches in table
        # order), read up to FACET_CAP + 1 if that is more.
        shared = pg and facets and filters == "1 = 1"
        sample = "s.entry_id, s.tenant_id, s.scope_type, s.status, s.country"
        upto = max(COUNT_CAP, plan_cap, FACET_CAP if shared else 0)
        ctes = [f"nw AS MATERIALIZED (SELECT {sample}, s.sort_key, s.number, s.number_key, "
                f"s.name_key FROM directory_search s WHERE {wanted} "
                f"LIMIT {sql.p(upto + 1, Integer())})",
                "n AS MATERIALIZED (SELECT COUNT(*) AS n FROM nw)"]
        few, many = (f"(SELECT n.n FROM n) <= {cap}", f"(SELECT n.n FROM n) > {cap}")
        by_name = _order(sql, query, "s", False)

        def in_name_order(cond: str, rows: str | None = None) -> str:
            # Rows read off the sort_key index, in order, as the outer query asks for them
            # (the LIMIT keeps the planner to that walk whatever it estimates of the outer
            # conditions); ``cond``: one-time conditions only.
            return (f"SELECT * FROM directory_search s WHERE {cond} ORDER BY {by_name} "
                    f"LIMIT {rows or sql.p(2**31 - 1, Integer())}")
        # Sorting after the index scan: on PostgreSQL ``|| ''`` keeps the planner off the
        # sort_key index (its estimates for the document match are poor).
        sorted_order = by_name.replace("s.sort_key", "s.sort_key || ''", 1) if pg else by_name
        ranked = tq and query.sort == "relevance"
        selects = [f"SELECT s.entry_id, s.sort_key, s.number, {tier if ranked else '3'} AS tier "
                   f"FROM nw s WHERE {few} ORDER BY {'tier, ' if ranked else ''}{by_name} "
                   f"LIMIT {top}"]
        if ranked:
            # Many: tier 0 by the number's index; the name tiers (1, 2) in ``k``; tier 3 walked
            # in name order off the order index (dense enough with more than PLAN_CAP
            # matches), only when tiers 0-2 do not fill the page already. ``k``: the first
            # WALK rows in name order are read for tier-1 rows (``kw``: a common name word is
            # dense there, found in a few hundred rows); when that does not fill the page (a
            # rare word, or names that start with it: they sit together further on):
            walk = sql.p(WALK, Integer())
            ctes.append(f"kw AS MATERIALIZED (SELECT s.entry_id, s.sort_key, s.number, 1 AS tier "
                        f"FROM (SELECT * FROM ({in_name_order(many, walk)}) s WHERE {tiers[1]}"
                        f"{' OFFSET 0' if pg else ''}) s WHERE {walked_rows} "
                        f"ORDER BY {by_name} "
                        f"LIMIT {top})")
            walked = f"(SELECT COUNT(*) FROM kw) >= {top}"
            # one word: the names that start with it sit together in name order (a range of
            # the order index: its first WALK rows are read for them, ``kr``), those with a
            # later word that does are few as a rule (a word that starts many names rarely
            # follows in many) and sorted; else (or when the range held too few) every name
            # match, found through the indexes of ``tiers["names"]``, sorted.
            def sorted_names(names: str, in_tiers: str) -> str:
                return (f"SELECT * FROM (SELECT s.entry_id, s.sort_key, s.number, {tier} AS "
                        f"tier FROM directory_search s WHERE {wanted} AND {many} AND NOT "
                        f"{walked} AND {names} AND ({in_tiers}) ORDER BY tier, {sorted_order} "
                        f"LIMIT {top}) x")

            name_tiers = f"({tiers[1]}) OR ({tiers[2]})"
            if tiers["single"]:
                first, later = tiers["single"]
                ranged_walk = in_name_order(f"{many} AND NOT {walked} AND {first}", walk)
                ctes.append(f"kr AS MATERIALIZED (SELECT s.entry_id, s.sort_key, s.number, 1 AS "
                            f"tier FROM ({ranged_walk}) s WHERE {walked_rows} AND {tiers[1]} "
                            f"ORDER BY {by_name} LIMIT {top})")
                ranged = f"(SELECT COUNT(*) FROM kr) >= {top}"
                fallback = (f"SELECT * FROM (SELECT * FROM (SELECT * FROM kr WHERE {ranged} "
                            f"UNION {sorted_names(f'{ranged} AND {later}', tiers[1])}) rl "
                            f"ORDER BY {_order(sql, query, 'rl', False)} LIMIT {top}) c "
                            f"UNION ALL "
                            f"{sorted_names(f'NOT {ranged} AND ' + tiers['names'], name_tiers)}")
            else:
                fallback = sorted_names(tiers["names"], name_tiers)
            ctes.append(f"k AS MATERIALIZED (SELECT * FROM kw WHERE {walked} UNION ALL "
                        f"SELECT * FROM ({fallback}) b)")
            selects += [f"SELECT s.entry_id, s.sort_key, s.number, 0 AS tier FROM "
                        f"directory_search s WHERE {wanted} AND {many} AND {tiers[0]} ORDER BY "
                        f"{by_name} LIMIT {top}",
                        "SELECT k.entry_id, k.sort_key, k.number, k.tier FROM k",
                        f"SELECT s.entry_id, s.sort_key, s.number, 3 AS tier FROM "
                        f"({in_name_order(f'{many} AND (SELECT COUNT(*) FROM k) < {top}')}) s "
                        f"WHERE {walked_rows} AND {tiers[3]} ORDER BY {by_name} LIMIT {top}"]
        else:
            selects.append(f"SELECT s.entry_id, s.sort_key, s.number, 3 AS tier FROM "
                           f"({in_name_order(many)}) s WHERE {walked_rows} ORDER BY {by_name} "
                           f"LIMIT {top}")
        page = " UNION ALL ".join(f"SELECT * FROM ({x}) t{i}" for i, x in enumerate(selects))
        parts.append(
            _ROW.format(kind="'hit'", value="CAST(h.entry_id AS VARCHAR(20))", n="h.tier",
                        pos=f"ROW_NUMBER() OVER (ORDER BY {_order(sql, query, 'h', True)})")
            + f" FROM (SELECT * FROM ({page}) x ORDER BY {_order(sql, query, 'x', True)} "
            f"{limit}) h")
        parts.append(_ROW.format(kind="'total'", value="''", n="n.n", pos="0") + " FROM n")
        if facets:
            # ``codes`` (out of line) only when a filter reads it, the codes from their rows.
            codes = "s.codes" if multi else "'' AS codes"
            # The sample is the first matches in table order, which ``rebuild_index`` writes
            # scrambled on PostgreSQL (a pseudo-random sample, no sort); SQLite keeps its rows
            # by id (AB by AB), so there the matches are sorted by the same scramble first.
            scramble = "" if pg else f" ORDER BY {SCRAMBLE.format(id='s.entry_id')}"
            source = (f"(SELECT {sample}, '' AS codes FROM nw s) s" if shared else
                      f"(SELECT {sample}, {codes} FROM directory_search s WHERE {found}{scramble}"
                      f") s")
            ctes.append(f"m AS MATERIALIZED (SELECT * FROM {source} "
                        f"LIMIT {sql.p(FACET_CAP + 1, Integer())})")
            parts += _count_parts(sql, query)
            parts.append(_ROW.format(kind="'sampled'", value="''", n="COUNT(*)", pos="0")
                         + " FROM m WHERE 1 = 1")
            if not tq and len(multi) == 1:
                # The filtered kind's own counts are over every row (its filter left out),
                # which m does not hold: the summary table gives them.
                own = _summed(sql, query, today, _grain(query), f"'{multi[0]}'", True)
                parts.append(_ROW.format(kind="'own_code'", value="mc.kind || ':' || mc.value",
                                         n="SUM(mc.n)", pos="0")
                             + f" FROM {own} GROUP BY mc.kind, mc.value")
        cte = ("WITH " + ", ".join(ctes) + " ") if ctes else ""
    else:
        # No words, no IAF/field filter: the page comes off the name index; the counts are
        # sums over directory_search_counts at the grain of the filters (``_summed``): the
        # entries at the query's grain (every value of a filtered column: its facet counts
        # with the *other* filters) read once, each other column's at the grain adding it.
        grain = _grain(query)
        me = _summed(sql, query, today, grain, ENTRIES, False)
        cte = f"WITH me AS MATERIALIZED (SELECT * FROM {me}) "
        parts.append(
            _ROW.format(kind="'hit'", value="CAST(h.entry_id AS VARCHAR(20))", n="3",
                        pos=f"ROW_NUMBER() OVER (ORDER BY {_order(sql, query, 'h', False)})")
            + " FROM (SELECT s.entry_id, s.sort_key, s.number FROM directory_search s WHERE "
            f"{visible_rows} AND {_filters(sql, query, 's')} "
            f"ORDER BY {_order(sql, query, 's', False)} {limit}) h")

        def summed(cond: str) -> str:
            return f"SUM(CASE WHEN {cond} THEN mc.n ELSE 0 END)"

        entries = "FROM me mc"
        parts.append(_ROW.format(kind="'total'", value="''", n=summed(_filters(sql, query, "mc")),
                                 pos="0") + f" {entries} WHERE 1 = 1")
        if facets:
            for name, column in _SCALAR:
                column = column.replace("m.", "mc.", 1)
                value = f"CAST({column} AS VARCHAR(20))" if name == "tenant" else column
                if name in _FILTER_BITS and not getattr(query, name):  # its grain, filtered
                    own = _summed(sql, query, today, grain | _FILTER_BITS[name], ENTRIES, True)
                    source = f"FROM {own}"
                    n = "SUM(mc.n)"
                else:  # the AB, or a filtered column: counted with the other filters
                    source, n = entries, summed(_filters(sql, query, "mc", name))
                parts.append(_ROW.format(kind=f"'{name}'", value=value, n=n, pos="0")
                             + f" {source} GROUP BY {column}")
            kinds = ", ".join(f"'{k}'" for k in MULTI_KINDS)
            parts.append(_ROW.format(kind="'code'", value="mc.kind || ':' || mc.value",
                                     n="SUM(mc.n)", pos="0")
                         + f" FROM {_summed(sql, query, today, grain, kinds, True)} "
                         "GROUP BY mc.kind, mc.value")
    stmt = sql.statement(cte + " UNION ALL ".join(f"SELECT * FROM ({p}) u{i}"
                                                   for i, p in enumerate(parts)))
    hits_order: list[tuple[int, int, int]] = []
    total, sampled = None, 0
    counts: dict[str, list[tuple[str, str | None, int]]] = {name: [] for name in FACETS}
    if pg:
        # The planner does not cost reading a document out of line: for a word with filters
        # that few of its matches pass, its estimate (the selectivities multiplied) made a
        # sequential scan checking every row's document look cheap (~300 ms at 100,000 rows;
        # through the document's index ~5 ms). Sequential scans are off from here to the end
        # of the transaction (every part of the statement has an index to use; what a caller
        # runs after it — the page's entries and labels by key — does too). No JIT (a
        # disabled scan's cost made the planner compile the statement: ~1 s) and no parallel
        # workers (starting them costs more than these reads).
        db.session.execute(text("SELECT set_config('enable_seqscan', 'off', true), "
                                "set_config('jit', 'off', true), "
                                "set_config('max_parallel_workers_per_gather', '0', true)"))
    rows = db.session.execute(stmt, sql.params).all()
    own = {str(v).partition(":")[0] for k, v, _n, _p in rows if k == "own_code"}
    for kind, value, n, pos in rows:
        if kind == "own_code":
            kind = "code"
        elif kind == "code" and str(value).partition(":")[0] in own:
            continue  # counted over every row by the summary table instead
        if kind == "hit":
            hits_order.append((int(pos), int(value), int(n)))
        elif kind == "total":
            total = int(n or 0)
        elif kind == "sampled":
            sampled = int(n or 0)
        elif kind == "sample_total":
            continue
        elif kind == "code" and value and n:
            code_kind, _sep, code = str(value).partition(":")
            if code_kind in counts:
                counts[code_kind].append((code, None, int(n)))
        elif value is not None and n:
            counts[kind].append((str(value), None, int(n)))
    hits = _load_hits(sorted(hits_order))
    total = sampled if total is None else total
    total_exact = not (tq or multi) or total <= COUNT_CAP  # (browsing: sums, always exact)
    return Result(query, hits, total if total_exact else COUNT_CAP, _labelled(counts) if facets else {},
                  total_exact=total_exact, facets_exact=sampled <= FACET_CAP,
                  sampled=sampled)


# What a result lists (names, number, status, programme, dates): not the entry's scope text,
# places and contacts (the scope text alone runs to megabytes for a few entries). Plain rows:
# loading 20 ORM entities cost ~2.5 ms a page, these columns ~0.6 ms.
_HIT_COLUMNS = (DirectoryEntry.id, DirectoryEntry.number, DirectoryEntry.legal_name,
                DirectoryEntry.trading_names, DirectoryEntry.country,
                DirectoryEntry.programme_code, DirectoryEntry.programme_name,
                DirectoryEntry.scope_type, DirectoryEntry.standard, DirectoryEntry.edition,
                DirectoryEntry.status, DirectoryEntry.lines_total, DirectoryEntry.lines_suspended,
                DirectoryEntry.ended_on, DirectoryEntry.published_at)


def _load_hits(order: list[tuple[int, int, int]]) -> list[Hit]:
    if not order:
        return []
    ids = [entry_id for _pos, entry_id, _tier in order]
    rows = db.session.execute(
        select(*_HIT_COLUMNS, Tenant.slug, Tenant.name)
        .join(Tenant, Tenant.id == DirectoryEntry.tenant_id)
        .where(DirectoryEntry.id.in_(ids))
        .execution_options(**{ALL_TENANTS: True})).all()
    by_id = {row.id: (row, row.slug, row.name) for row in rows}
    return [Hit(*by_id[entry_id], tier=tier) for _pos, entry_id, tier in order
            if entry_id in by_id]


def _labelled(counts: dict[str, list[tuple[str, str | None, int]]]) -> dict[str, list[Facet]]:
    """The top values of each facet with readable labels (one statement)."""
    top = {name: sorted(values, key=lambda v: (-v[2], v[0]))[:FACET_LIMIT]
           for name, values in counts.items()}
    codes = {v for name in MULTI_KINDS for v, _label, _n in top[name]}
    names: dict[tuple[str, str], str] = {}
    tenants: dict[str, tuple[str, str]] = {}
    # the ABs' and the codes' names in one statement (a round trip each was ~0.5 ms a page)
    parts = []
    if top["tenant"]:
        parts.append(select(literal("tenant").label("kind"), cast(Tenant.id, String),
                            Tenant.slug, Tenant.name)
                     .where(Tenant.id.in_([int(v) for v, _l, _n in top["tenant"]])))
    if codes:
        parts.append(select(RefTerm.kind, RefTerm.code, literal(None, String), RefTerm.name)
                     .where(RefTerm.tenant_id.is_(None), RefTerm.code.in_(sorted(codes)),
                            RefTerm.kind.in_((TermKind.iaf_code.value, *FIELD_TERM_KINDS))))
    if parts:
        for kind, code, slug, name in db.session.execute(
                (union_all(*parts) if len(parts) > 1 else parts[0])
                .execution_options(**{ALL_TENANTS: True})):
            if kind == "tenant":
                tenants[code] = (slug, name)
            else:
                group = "iaf_code" if kind == TermKind.iaf_code.value else "field"
                names.setdefault((group, code), name)
    if top["tenant"]:
        top["tenant"] = [(tenants[v][0], tenants[v][1], n) for v, _l, n in top["tenant"]
                         if v in tenants]

    def label(name: str, value: str, given: str | None) -> str:
        if name == "tenant":
            return given or value
        if name == "programme":
            return str(PROGRAMME_LABELS.get(value, value))
        if name == "status":
            return status_label(value)
        if name == "iaf_code":
            title = names.get((name, value))
            return f"IAF {value} – {title}" if title else f"IAF {value}"
        if name == "field":
            return names.get((name, value), value)
        return value

    return {name: [Facet(value, label(name, value, given), n) for value, given, n in values]
            for name, values in top.items()}


def _corrections(tq: TextQuery, pg: bool) -> dict[str, list[str]]:
    """Name words like the query's single words (letters, 4+ characters) — pg_trgm's
    similarity ≥ SIMILARITY, computed here so both back ends agree; the database only offers
    candidates (PostgreSQL ``%`` through the trigram index, SQLite the FTS5 trigram table)."""
    wanted = [t.words[0] for g in tq.groups for t in g
              if len(t.words) == 1 and len(t.words[0]) >= 4 and t.words[0].isalpha()][:4]
    if not wanted:
        return {}
    sql = _Sql(pg)
    parts = []
    for i, w in enumerate(wanted):
        if pg:
            parts.append(f"SELECT {i} AS i, w.word FROM directory_search_words w "
                         f"WHERE w.word % {sql.p(w)}")
        else:
            grams = sorted({w[k:k + 3] for k in range(len(w) - 2)})
            match = " OR ".join(f'"{g}"' for g in grams)
            parts.append(f"SELECT * FROM (SELECT {i} AS i, w.word FROM directory_fts_words f "
                         f"JOIN directory_search_words w ON w.id = f.rowid WHERE "
                         f"directory_fts_words MATCH {sql.p(match)} ORDER BY f.rank LIMIT 500)")
    found: dict[str, list[tuple[float, str]]] = {w: [] for w in wanted}
    for i, word in db.session.execute(sql.statement(" UNION ALL ".join(parts)), sql.params):
        w = wanted[i]
        score = similarity(w, word)
        if word != w and score >= SIMILARITY:
            found[w].append((score, word))
    return {w: [word for _s, word in sorted(c, key=lambda x: (-x[0], x[1]))[:MAX_CORRECTIONS]]
            for w, c in found.items() if c}


# -- indexing -----------------------------------------------------------------------------------------


def _head(e) -> str:
    """The entry's own public words: number, names, programme, standard, country, places."""
    parts = [e.number, e.legal_name, *(e.trading_names or []), e.programme_name,
             e.programme_code, e.standard, e.edition, e.country]
    for loc in e.locations or []:
        parts += [loc.get("code"), loc.get("name"), loc.get("address"), loc.get("country")]
    return " ".join(str(p) for p in parts if p)


def _row(e) -> dict:
    names = [e.legal_name, *(e.trading_names or [])]
    return {
        "entry_id": e.id, "tenant_id": e.tenant_id, "scope_type": e.scope_type,
        "status": e.status, "country": e.country, "until": e.visible_until or FOREVER,
        # The legal name, or (with no letters or digits) the first name that has some: its
        # first word is name_key's (LATER_NAME_WORDS).
        "sort_key": next(filter(None, map(normalise, names)), "")[:250], "number": e.number,
        "number_key": e.number.lower(),
        "name_key": " ".join(w[:NAME_WORD_CHARS] for n in names for w in words_of(n)),
        "head": _head(e),
    }


_ENTRY_COLUMNS = (DirectoryEntry.id, DirectoryEntry.tenant_id, DirectoryEntry.scope_type,
                  DirectoryEntry.status, DirectoryEntry.country, DirectoryEntry.visible_until,
                  DirectoryEntry.legal_name, DirectoryEntry.trading_names, DirectoryEntry.number,
                  DirectoryEntry.programme_name, DirectoryEntry.programme_code,
                  DirectoryEntry.standard, DirectoryEntry.edition, DirectoryEntry.locations)


_COLUMNS = ("entry_id", "tenant_id", "scope_type", "status", "country", "until", "sort_key",
            "number", "number_key", "name_key", "head")

# One entry's scope text (summaries and field values, in line order) and its multi-valued
# filter values, read from its lines by correlated subqueries of the INSERT: each search row is
# written once, complete (no second UPDATE pass leaving a table twice its size).
_PG_LINES = (
    "(SELECT left(string_agg(l.summary || ' ' || COALESCE((SELECT string_agg(j.value, ' ') "
    "FROM json_each_text(l.fields) j), ''), ' ' ORDER BY l.position, l.id), "
    f"{DOC_CHARS}) FROM directory_lines l WHERE l.entry_id = :entry_id)")
_PG_CODES = (
    "(SELECT COALESCE(json_agg(x.v ORDER BY x.v)::text, '[]') FROM (SELECT DISTINCT "
    "'iaf_code:' || left(j.value, 60) AS v FROM directory_lines l CROSS JOIN LATERAL "
    "json_array_elements_text(CASE WHEN json_typeof(l.fields -> 'iaf_codes') = 'array' "
    "THEN l.fields -> 'iaf_codes' ELSE '[]'::json END) j WHERE l.entry_id = :entry_id "
    "AND j.value <> '' UNION SELECT 'field:' || left(COALESCE(l.fields ->> 'field', "
    "l.fields ->> 'discipline'), 60) FROM directory_lines l WHERE l.entry_id = :entry_id "
    "AND COALESCE(l.fields ->> 'field', l.fields ->> 'discipline', '') <> '') x)")
_SQLITE_LINES = (
    "(SELECT substr(group_concat(l.summary || ' ' || COALESCE((SELECT group_concat(j.value, "
    f"' ') FROM json_each(l.fields) j), ''), ' '), 1, {DOC_CHARS}) FROM (SELECT * FROM "
    "directory_lines WHERE entry_id = :entry_id ORDER BY position, id) l)")
_SQLITE_CODES = (
    "(SELECT COALESCE(json_group_array(x.v), '[]') FROM (SELECT v FROM (SELECT 'iaf_code:' || "
    "substr(j.value, 1, 60) AS v FROM directory_lines l, json_each(l.fields, '$.iaf_codes') j "
    "WHERE l.entry_id = :entry_id AND json_type(l.fields, '$.iaf_codes') = 'array' AND "
    "CAST(j.value AS TEXT) <> '' UNION SELECT 'field:' || substr(COALESCE(json_extract("
    "l.fields, '$.field'), json_extract(l.fields, '$.discipline')), 1, 60) FROM "
    "directory_lines l WHERE l.entry_id = :entry_id AND COALESCE(json_extract(l.fields, "
    "'$.field'), json_extract(l.fields, '$.discipline'), '') <> '') ORDER BY v) x)")


_LOAD = "directory_search_load"  # a temporary table: the Python-computed part of each row
_LOAD_DDL = (f"CREATE TEMPORARY TABLE IF NOT EXISTS {_LOAD} (entry_id INTEGER PRIMARY KEY, "
             "tenant_id INTEGER, scope_type VARCHAR(30), status VARCHAR(30), country VARCHAR(2),"
             " until DATE, sort_key VARCHAR(250), number VARCHAR(60), number_key VARCHAR(60), "
             "name_key TEXT, head TEXT)")


def _insert_sql(pg: bool) -> list[str]:
    """INSERT … SELECT from the loaded rows, the lines aggregated per row (set-based)."""
    cols = ", ".join(_COLUMNS)
    loaded = ", ".join(f"r.{c}" for c in _COLUMNS)
    if pg:
        lines, codes = (x.replace(":entry_id", "r.entry_id") for x in (_PG_LINES, _PG_CODES))
        return [
            f"INSERT INTO directory_search ({cols}, codes, tsv, tsw) SELECT {loaded}, {codes}, "
            f"d.tsv, strip(d.tsv) FROM {_LOAD} r CROSS JOIN LATERAL (SELECT to_tsvector("
            f"'simple', regexp_replace(r.head || ' ' || COALESCE({lines}, ''), "
            "'[^[:alnum:]]+', ' ', 'g')) AS tsv) d "
            f"ORDER BY {SCRAMBLE.format(id='r.entry_id')}"]
    lines, codes = (x.replace(":entry_id", "r.entry_id") for x in (_SQLITE_LINES, _SQLITE_CODES))
    return [f"INSERT INTO directory_search ({cols}, codes) SELECT {loaded}, {codes} "
            f"FROM {_LOAD} r",
            f"INSERT INTO directory_fts (rowid, doc) SELECT r.entry_id, r.head || ' ' || "
            f"COALESCE({lines}, '') FROM {_LOAD} r"]


def _values_sql(pg: bool, where: str) -> str:
    """directory_search_values of the rows selected by ``where``, from their ``codes``."""
    if pg:
        return ("INSERT INTO directory_search_values (entry_id, kind, value) SELECT s.entry_id,"
                " split_part(c.value, ':', 1), substr(c.value, strpos(c.value, ':') + 1) "
                "FROM directory_search s CROSS JOIN LATERAL json_array_elements_text("
                f"s.codes::json) c WHERE {where}")
    return ("INSERT INTO directory_search_values (entry_id, kind, value) SELECT s.entry_id, "
            "substr(c.value, 1, instr(c.value, ':') - 1), substr(c.value, instr(c.value, ':') "
            f"+ 1) FROM directory_search s, json_each(s.codes) c WHERE {where}")


def _write_rows(rows: list[dict], pg: bool) -> None:
    """Load the rows' own part (one executemany of plain values), then derive the rest from
    their lines in one INSERT … SELECT per table."""
    if not rows:
        return
    db.session.execute(text(_LOAD_DDL))
    db.session.execute(text(f"DELETE FROM {_LOAD}"))
    cols = ", ".join(_COLUMNS)
    db.session.execute(text(f"INSERT INTO {_LOAD} ({cols}) VALUES "
                            f"({', '.join(':' + c for c in _COLUMNS)})")
                       .bindparams(bindparam("until", type_=Date())), rows)
    for stmt in _insert_sql(pg):
        db.session.execute(text(stmt))
    _add_words({w for r in rows for w in r["name_key"].split()}, pg)


def _add_words(words: set[str], pg: bool) -> None:
    """Add name words not known yet (SQLite: and to the trigram table)."""
    words = {w for w in words if 3 <= len(w) <= 80 and w.isalpha()}
    if not words:
        return
    table = DirectorySearchWord.__table__
    before = None
    if not pg:
        before = db.session.execute(text(
            "SELECT COALESCE(MAX(id), 0) FROM directory_search_words")).scalar_one()
    ins = (pg_insert if pg else sqlite_insert)(table).on_conflict_do_nothing(
        index_elements=["word"])
    db.session.execute(ins, [{"word": w} for w in sorted(words)])
    if not pg:
        db.session.execute(text(
            "INSERT INTO directory_fts_words (rowid, word) SELECT id, word "
            "FROM directory_search_words WHERE id > :before"), {"before": before})


def _clear(where: str, params: dict, pg: bool, *, fts_where: str | None = None) -> None:
    """Delete the search rows (and their values and SQLite documents) selected by ``where``;
    ``fts_where`` picks the FTS5 rows by rowid when the search row may already be gone (an
    entry deleted and its id used again)."""
    db.session.execute(text(
        "DELETE FROM directory_search_values WHERE entry_id IN "
        f"(SELECT s.entry_id FROM directory_search s WHERE {where})"), params)
    if not pg:
        db.session.execute(text(
            f"DELETE FROM directory_fts WHERE {fts_where}" if fts_where else
            "DELETE FROM directory_fts WHERE rowid IN "
            f"(SELECT s.entry_id FROM directory_search s WHERE {where})"), params)
    db.session.execute(text(f"DELETE FROM directory_search WHERE entry_id IN "
                            f"(SELECT s.entry_id FROM directory_search s WHERE {where})"), params)


_COUNT_KEY = ("grain", "kind", "until", "tenant_id", "scope_type", "status", "country", "value")


def _contributions(entry_id: int) -> Counter:
    """What one entry adds to directory_search_counts (before or after reindexing it): 1 at
    each grain, for the entry and for each of its multi-valued values."""
    rows = db.session.execute(text(
        "SELECT s.until, s.tenant_id, s.scope_type, s.status, s.country, "
        "COALESCE(v.kind, ''), COALESCE(v.value, '') FROM directory_search s "
        "LEFT JOIN directory_search_values v ON v.entry_id = s.entry_id "
        "WHERE s.entry_id = :e").columns(until=Date()), {"e": entry_id}).all()
    out: Counter = Counter()
    for until, tenant_id, *dims, kind, value in rows:
        for grain in range(8):
            kept = tuple(d if grain & bit else "" for d, (_c, bit) in zip(dims, _DIMS,
                                                                          strict=True))
            out[(grain, "", until, tenant_id, *kept, "")] = 1
            if kind:
                out[(grain, kind, until, tenant_id, *kept, value)] = 1
    return out


def _apply_counts(delta: Counter, pg: bool) -> None:
    """+1/−1 upserts into directory_search_counts, in key order (no deadlock between two
    publishes)."""
    rows = [dict(zip(_COUNT_KEY, key, strict=True), n=n)
            for key, n in sorted(delta.items(), key=lambda kv: tuple(map(str, kv[0]))) if n]
    if not rows:
        return
    table = DirectorySearchCount.__table__
    ins = (pg_insert if pg else sqlite_insert)(table)
    ins = ins.on_conflict_do_update(
        index_elements=list(_COUNT_KEY), set_={"n": table.c.n + ins.excluded.n})
    db.session.execute(ins, rows)


def index_entry(entry: DirectoryEntry, lines: list[dict]) -> None:
    """Refresh the search index (and facet values) of one entry after ``publish`` wrote it,
    in the caller's transaction. ``lines`` are the public lines as published (already in
    ``directory_lines``: the same set-based statements as ``rebuild_index`` read them, so a
    publish and a rebuild index an entry identically)."""
    pg = _dialect() == "postgresql"
    entry_id = entry.id
    before = _contributions(entry_id)
    where, params = "s.entry_id = :e", {"e": entry_id}
    _clear(where, params, pg, fts_where="rowid = :e")
    row = db.session.execute(select(*_ENTRY_COLUMNS).where(DirectoryEntry.id == entry_id)
                             .execution_options(**{ALL_TENANTS: True})).one()
    _write_rows([_row(row)], pg)
    db.session.execute(text(_values_sql(pg, where)), params)
    after = _contributions(entry_id)
    after.subtract(before)
    _apply_counts(after, pg)
    cache.changed()


# A fixed pseudo-random position for an entry: Knuth's multiplicative hash of its id.
SCRAMBLE = "(({id} * 2654435761) % 4294967296)"


def rebuild_index(*, tenant_id: int | None = None) -> int:
    """Rebuild the search index and facet values of every entry (of one tenant) in bulk, from
    the directory tables alone; returns how many entries were indexed. ``flask directory
    rebuild`` and ``flask bench seed`` call it. Entries are read in batches of 5,000 (names and
    places normalised in Python); the scope text and filter values are derived from the lines
    by a few set-based statements; the facet counts by one INSERT … SELECT."""
    pg = _dialect() == "postgresql"
    if tenant_id is None:
        where, params = "1 = 1", {}
    else:
        where, params = "s.tenant_id = :t", {"t": tenant_id}
    _clear(where, params, pg, fts_where="1 = 1" if tenant_id is None else None)
    if tenant_id is None:
        db.session.execute(delete(DirectorySearchWord).execution_options(
            synchronize_session=False))
        if not pg:
            db.session.execute(text(
                "INSERT INTO directory_fts_words (directory_fts_words) VALUES ('delete-all')"))
    # The rows are written in a scrambled (fixed) order, not by id: the facet counts of a broad
    # search are taken over its first FACET_CAP matches as the index returns them, in table
    # order, and entries by id come AB by AB — that sample would show one or two ABs.
    # (each batch's INSERT keeps that order too: ``_insert_sql``)
    ids_stmt = (select(DirectoryEntry.id)
                .order_by(text(SCRAMBLE.format(id="directory_entries.id")))
                .execution_options(**{ALL_TENANTS: True}))
    if tenant_id is not None:
        ids_stmt = ids_stmt.where(DirectoryEntry.tenant_id == tenant_id)
    ids = list(db.session.execute(ids_stmt).scalars())
    count = 0
    for start in range(0, len(ids), 5000):
        batch = db.session.execute(
            select(*_ENTRY_COLUMNS).where(DirectoryEntry.id.in_(ids[start:start + 5000]))
            .execution_options(**{ALL_TENANTS: True})).all()
        _write_rows([_row(e) for e in batch], pg)
        count += len(batch)
    db.session.execute(text(_values_sql(pg, where)), params)
    _recount(tenant_id)
    cache.changed()
    return count


def _recount(tenant_id: int | None) -> None:
    """directory_search_counts of one tenant (or all) from the search rows, set-based: the
    finest grain (7) from the rows and their values, each coarser grain summed from it."""
    params: dict = {}
    cond = ""
    if tenant_id is not None:
        cond, params["t"] = " WHERE s.tenant_id = :t", tenant_id
    db.session.execute(text("DELETE FROM directory_search_counts" + (
        "" if tenant_id is None else " WHERE tenant_id = :t")), params)
    columns = ", ".join((*_COUNT_KEY, "n"))
    key = "s.until, s.tenant_id, s.scope_type, s.status, s.country"
    db.session.execute(text(
        f"INSERT INTO directory_search_counts ({columns}) SELECT 7, '', {key}, '', COUNT(*) "
        f"FROM directory_search s{cond} GROUP BY {key} UNION ALL SELECT 7, v.kind, {key}, "
        f"v.value, COUNT(*) FROM directory_search s JOIN directory_search_values v "
        f"ON v.entry_id = s.entry_id{cond} GROUP BY v.kind, {key}, v.value"), params)
    for grain in range(7):
        kept = [f"c.{column}" if grain & bit else "''" for column, bit in _DIMS]
        group = ", ".join(k for k in kept if k != "''")
        db.session.execute(text(
            f"INSERT INTO directory_search_counts ({columns}) SELECT {grain}, c.kind, c.until, "
            f"c.tenant_id, {', '.join(kept)}, c.value, SUM(c.n) FROM directory_search_counts c "
            f"WHERE c.grain = 7{' AND c.tenant_id = :t' if tenant_id is not None else ''} "
            f"GROUP BY c.kind, c.until, c.tenant_id, {group + ', ' if group else ''}c.value"),
            params)


def include_name(name, type_, parent_names) -> bool:
    """Alembic ``include_name`` hook: leave SQLite's FTS5 tables out of schema comparisons."""
    return not (type_ == "table" and is_fts_table(name))


