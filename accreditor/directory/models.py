"""The public directory: one entry per published accreditation, its public scope lines and its
history of status changes.

These rows are a *projection*: ``directory.services.publish`` writes them from the accreditation
when a decision is recorded (or ``flask directory rebuild`` runs), copying only what the AB
publishes (17011 7.8.1 / 8.2, DOMAIN.md §4.2). Public pages and the public API read nothing
else, so internal notes, findings, people and unpublished lines cannot leak through them.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    DDL,
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from accreditor.core.db import Base, utcnow
from accreditor.core.tenancy import CabScoped, TenantScoped


class PublicStatus(StrEnum):
    """Status words of a directory entry (the accreditation statuses that are ever public)."""

    accredited = "accredited"
    inactive = "inactive"  # at the CAB's request, lines kept (rule 22)
    partially_suspended = "partially_suspended"
    suspended = "suspended"
    withdrawn = "withdrawn"
    voluntarily_withdrawn = "voluntarily_withdrawn"  # "resigned" at UKAS
    expired = "expired"

    @property
    def label(self):
        return STATUS_LABELS[self]

    @property
    def is_ended(self) -> bool:
        return self in ENDED_STATUSES


# Programmes whose bodies issue certificates to clients or persons (rule 21's flag).
CERTIFICATION_SCOPE_TYPES = frozenset({"ms_certification", "person_certification"})

STATUS_LABELS = {
    PublicStatus.accredited: _l("Accredited"),
    PublicStatus.inactive: _l("Inactive"),
    PublicStatus.partially_suspended: _l("Accredited (partially suspended)"),
    PublicStatus.suspended: _l("Suspended"),
    PublicStatus.withdrawn: _l("Withdrawn"),
    PublicStatus.voluntarily_withdrawn: _l("Voluntarily withdrawn (resigned)"),
    PublicStatus.expired: _l("Expired"),
}

# Entries kept public only until ``visible_until`` (rule 27).
ENDED_STATUSES = frozenset({PublicStatus.withdrawn, PublicStatus.voluntarily_withdrawn,
                            PublicStatus.expired})

LINE_STATUS_LABELS = {
    "accredited": _l("Accredited"),
    "suspended": _l("Suspended"),
    "withdrawn": _l("Withdrawn"),
    "expired": _l("Expired"),
}

SANCTION_LABELS = {
    "imposed": _l("imposed"),
    "voluntary": _l("voluntary"),
    "financial": _l("financial"),
}

_STATUS_SQL = ", ".join(f"'{s.value}'" for s in PublicStatus)
_ENDED_SQL = ", ".join(f"'{s.value}'" for s in sorted(ENDED_STATUSES))


def status_label(value: str | None) -> str:
    try:
        return str(PublicStatus(value).label)
    except ValueError:
        return value or ""


class DirectoryEntry(TenantScoped, CabScoped, Base):
    """The public entry of one accreditation (DOMAIN.md §4.2)."""

    __tablename__ = "directory_entries"
    __table_args__ = (
        UniqueConstraint("accreditation_id"),
        UniqueConstraint("tenant_id", "number"),
        CheckConstraint(f"status IN ({_STATUS_SQL})", name="status_public"),
        # Withdrawn, resigned and expired entries carry their end date and how long they stay
        # listed (rule 27); live ones carry neither.
        CheckConstraint(f"(status IN ({_ENDED_SQL})) = (ended_on IS NOT NULL)",
                        name="ended_dated"),
        CheckConstraint("(ended_on IS NULL) = (visible_until IS NULL)", name="visible_until_set"),
        CheckConstraint("sanction_type IS NULL OR status IN ('suspended', 'partially_suspended')",
                        name="sanction_when_suspended"),
        Index("ix_directory_entries_tenant_name", "tenant_id", "legal_name", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    accreditation_id: Mapped[int] = mapped_column(ForeignKey("accreditations.id"))
    number: Mapped[str] = mapped_column(String(60))
    legal_name: Mapped[str] = mapped_column(String(250))
    trading_names: Mapped[list] = mapped_column(JSON, default=list)
    country: Mapped[str] = mapped_column(String(2))
    website: Mapped[str | None] = mapped_column(String(300))
    # [{"code", "name", "address", "country", "kind"}], active locations by code
    locations: Mapped[list] = mapped_column(JSON, default=list)
    # [{"name", "position", "email", "phone"}]: only contacts the CAB marked public
    contacts: Mapped[list] = mapped_column(JSON, default=list)
    programme_code: Mapped[str] = mapped_column(String(20))
    programme_name: Mapped[str] = mapped_column(String(120))
    scope_type: Mapped[str] = mapped_column(String(30))
    standard: Mapped[str] = mapped_column(String(60))
    edition: Mapped[str] = mapped_column(String(20))
    ib_type: Mapped[str | None] = mapped_column(String(1))
    status: Mapped[str] = mapped_column(String(30), index=True)
    status_since: Mapped[date]
    sanction_type: Mapped[str | None] = mapped_column(String(20))
    lines_total: Mapped[int] = mapped_column(default=0)
    lines_suspended: Mapped[int] = mapped_column(default=0)
    initial_grant_on: Mapped[date]
    cycle_end_on: Mapped[date | None]
    expiry_on: Mapped[date | None]
    schedule_issue_no: Mapped[int]
    schedule_issued_on: Mapped[date]
    ended_on: Mapped[date | None]  # withdrawn / resigned / expired on
    visible_until: Mapped[date | None]  # ended_on + the tenant's retention (rule 27)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Lower-cased public words (number, names, places, standard, scope summaries) for the search
    # of the next issue (FTS5 / tsvector build on it).
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Digests of what was last written: a republish that changes nothing writes nothing.
    digest: Mapped[str] = mapped_column(String(64))
    lines_digest: Mapped[str] = mapped_column(String(64))

    @property
    def status_enum(self) -> PublicStatus:
        return PublicStatus(self.status)

    @property
    def status_label(self) -> str:
        return str(self.status_enum.label)

    @property
    def is_ended(self) -> bool:
        return self.status_enum.is_ended

    @property
    def no_new_certifications(self) -> bool:
        """A suspended certification body (17021-1, 17024) certifies no new clients or persons
        in the suspended scope while existing certificates stay under surveillance (rule 21,
        ANAB practice): the public page says so."""
        return (self.scope_type in CERTIFICATION_SCOPE_TYPES
                and self.status in (PublicStatus.suspended.value,
                                    PublicStatus.partially_suspended.value))

    def is_visible(self, today: date) -> bool:
        return self.visible_until is None or self.visible_until >= today


class DirectoryLine(TenantScoped, Base):
    """One public scope line of an entry: what the schedule shows, nothing else."""

    __tablename__ = "directory_lines"
    __table_args__ = (
        Index("ix_directory_lines_entry_position", "entry_id", "position", "id"),
        CheckConstraint("status IN ('accredited', 'suspended', 'withdrawn', 'expired')",
                        name="status_public"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("directory_entries.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text, default="")
    # The programme's schedule fields of the line (scopes.schemas), nothing more
    fields: Mapped[dict] = mapped_column(JSON, default=dict)

    @property
    def status_label(self) -> str:
        return str(LINE_STATUS_LABELS.get(self.status, self.status))


class DirectoryEvent(TenantScoped, Base):
    """One public status change of an entry: the date and the public words, nothing else."""

    __tablename__ = "directory_events"
    __table_args__ = (
        Index("ix_directory_events_entry_on", "entry_id", "occurred_on"),
        CheckConstraint(f"to_status IN ({_STATUS_SQL})", name="to_status_public"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("directory_entries.id", ondelete="CASCADE"))
    occurred_on: Mapped[date]
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    sanction_type: Mapped[str | None] = mapped_column(String(20))

    @property
    def from_label(self) -> str:
        return status_label(self.from_status)

    @property
    def to_label(self) -> str:
        return status_label(self.to_status)


# -- the search index (directory.search) ------------------------------------------------------------

# ``DirectorySearch.until`` of an entry that stays listed: visibility is one ``until >= today``.
FOREVER = date(9999, 12, 31)
# PostgreSQL keeps the full-text document in a tsvector; SQLite keeps it in the FTS5 table
# ``directory_fts`` (created beside these tables by the migration and by ``create_all``), and the
# column stays empty there.
TsVector = Text().with_variant(TSVECTOR(), "postgresql")


# PostgreSQL: the words of a search row's names after the first (the first word is sort_key's),
# as a tsvector of verbatim lexemes (no parser, no dictionary; ``name_key``'s words are at most
# NAME_WORD_CHARS long): a name has a word starting "cal" exactly when ``sort_key LIKE 'cal%'``
# (the first word: a range of the order index) or this matches ``'cal':*``. GIN-indexed. (A
# one-word name is in it too: harmless, what it finds is checked against ``name_key`` anyway.)
LATER_NAME_WORDS = ("array_to_tsvector(array_remove(string_to_array(substr({alias}name_key, "
                    "strpos({alias}name_key, ' ') + 1), ' '), ''))")
NAME_WORD_CHARS = 255  # (a query word is at most 200 characters: its prefix matches are kept)


class DirectorySearch(Base):
    """The search row of one entry, derived from ``directory_entries``/``directory_lines`` by
    ``search.index_entry`` and ``search.rebuild_index`` (never written otherwise). Public data
    only; read across tenants by ``search.search``."""

    __tablename__ = "directory_search"
    __table_args__ = (
        Index("ix_directory_search_filters", "tenant_id", "scope_type", "status", "country",
              "until"),
        # Every search's order (sort_key, number, entry_id), all three in code-point order:
        # walked, it gives the rows in order with no sort step.
        Index("ix_directory_search_sort", "sort_key", "number", "entry_id"),
        Index("ix_directory_search_until", "until"),
        Index("ix_directory_search_tsw", "tsw", postgresql_using="gin"),
        Index("ix_directory_search_number_trgm", "number_key", postgresql_using="gin",
              postgresql_ops={"number_key": "gin_trgm_ops"}),
        Index("ix_directory_search_number_key", "number_key"),  # the exact number (tier 0)
        # PostgreSQL: the names' later words (LATER_NAME_WORDS), for the name tiers of a search.
        Index("ix_directory_search_later_names", text(LATER_NAME_WORDS.format(alias="")),
              postgresql_using="gin").ddl_if(dialect="postgresql"),
        # The document goes out of line (TOAST): the rows that filters and counts scan stay
        # narrow.
        {"postgresql_with": {"toast_tuple_target": 128}},
    )

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("directory_entries.id", ondelete="CASCADE"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    scope_type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(30))
    country: Mapped[str] = mapped_column(String(2))
    until: Mapped[date] = mapped_column(Date)  # visible_until, or FOREVER
    # The normalised legal name, in code-point order on both back ends (PostgreSQL: collation
    # "C", so the index serves ORDER BY; SQLite compares bytes anyway).
    sort_key: Mapped[str] = mapped_column(
        String(250).with_variant(String(250, collation="C"), "postgresql"))
    number: Mapped[str] = mapped_column(  # collation "C" on PostgreSQL, as sort_key
        String(60).with_variant(String(60, collation="C"), "postgresql"))
    number_key: Mapped[str] = mapped_column(String(60))  # lower-cased number
    # The legal then the trading names: their words (at most NAME_WORD_CHARS long), by spaces.
    name_key: Mapped[str] = mapped_column(Text)
    head: Mapped[str] = mapped_column(Text)  # the entry's own public words (names, places…)
    # '["field:PRES", "iaf_code:28"]': the entry's multi-valued filter values, read by filters
    # and facet counts without a join.
    codes: Mapped[str] = mapped_column(Text, default="[]")
    # PostgreSQL: the document with word positions (phrases; out of line) and stripped of them
    # (small, in line, GIN-indexed: what every word query reads).
    tsv: Mapped[str | None] = mapped_column(TsVector)
    tsw: Mapped[str | None] = mapped_column(TsVector)


class DirectorySearchValue(Base):
    """A multi-valued filter value of an entry (IAF code, testing field / calibration
    discipline / inspection field), from its public lines' fields."""

    __tablename__ = "directory_search_values"
    __table_args__ = (
        Index("ix_directory_search_values_value", "kind", "value", "entry_id"),
    )

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("directory_search.entry_id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(60), primary_key=True)


class DirectorySearchWord(Base):
    """The words of published names: what a misspelled name is corrected to (trigram
    similarity). Grows with publishing; ``rebuild_index()`` of every tenant trims it."""

    __tablename__ = "directory_search_words"
    __table_args__ = (
        Index("ix_directory_search_words_trgm", "word", postgresql_using="gin",
              postgresql_ops={"word": "gin_trgm_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    word: Mapped[str] = mapped_column(String(80), unique=True)


# The single-valued filters a count can keep, as bits of ``DirectorySearchCount.grain``.
GRAIN_BITS = {"scope_type": 1, "status": 2, "country": 4}


class DirectorySearchCount(Base):
    """How many entries share one combination of the single-valued filters (``kind`` '') or
    carry one multi-valued value (``kind`` 'iaf_code' / 'field'), per AB and the last day they
    are listed (``until``): the facet counts of a search without words, summed instead of
    counted (kept by ``index_entry`` with +1/−1 upserts, recomputed by ``rebuild_index``).

    Every entry is counted at eight *grains*: ``grain`` says which of programme, status and
    country the row keeps (``GRAIN_BITS``; a column not kept holds ''), so a page reads the
    rows of the grain its filters need — the directory's front page the per-AB totals (a few
    thousand rows at 100,000 entries), not the finest combinations (~75,000)."""

    __tablename__ = "directory_search_counts"

    # key order = the primary key's: a grain's rows of one kind still listed are one range
    grain: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    until: Mapped[date] = mapped_column(Date, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    scope_type: Mapped[str] = mapped_column(String(30), primary_key=True)
    status: Mapped[str] = mapped_column(String(30), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    value: Mapped[str] = mapped_column(String(60), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


# SQLite's full-text tables (FTS5), outside the ORM metadata: the migration creates the same ones
# (copied there verbatim). ``directory_fts`` holds each entry's document (rowid = entry id; the
# unicode61 tokenizer folds case and keeps accents, as PostgreSQL's 'simple' configuration does);
# ``directory_fts_words`` indexes the name words by trigram (external content) for corrections.
FTS_TABLES = ("directory_fts", "directory_fts_words")
SQLITE_FTS_DDL = (
    "CREATE VIRTUAL TABLE directory_fts USING fts5(doc, "
    "tokenize = 'unicode61 remove_diacritics 0')",
    "CREATE VIRTUAL TABLE directory_fts_words USING fts5(word, content = 'directory_search_words',"
    " content_rowid = 'id', tokenize = 'trigram')",
)


def is_fts_table(name: str | None) -> bool:
    """FTS5 tables and their shadow tables (``directory_fts_data``…), which no model describes:
    schema comparisons (``flask db migrate``, tests/test_migrations.py) leave them out."""
    return bool(name) and name.startswith("directory_fts")


for _ddl in SQLITE_FTS_DDL:
    event.listen(DirectorySearchWord.__table__, "after_create",
                 DDL(_ddl).execute_if(dialect="sqlite"))
for _name in FTS_TABLES:
    event.listen(DirectorySearchWord.__table__, "before_drop",
                 DDL(f"DROP TABLE IF EXISTS {_name}").execute_if(dialect="sqlite"))
# PostgreSQL: the columns every search reads per row stay in the row (toast_tuple_target = 128
# would otherwise move them out of line, and each comparison of a sort or LIKE would fetch
# them from TOAST): the document alone goes out of line. As in the migration.
SEARCH_STORAGE_DDL = (
    "ALTER TABLE directory_search ALTER COLUMN sort_key SET STORAGE PLAIN, "
    "ALTER COLUMN number SET STORAGE PLAIN, ALTER COLUMN number_key SET STORAGE PLAIN, "
    "ALTER COLUMN scope_type SET STORAGE PLAIN, ALTER COLUMN status SET STORAGE PLAIN, "
    "ALTER COLUMN country SET STORAGE PLAIN, ALTER COLUMN name_key SET STORAGE MAIN, "
    "ALTER COLUMN codes SET STORAGE MAIN")
event.listen(DirectorySearch.__table__, "after_create",
             DDL(SEARCH_STORAGE_DDL).execute_if(dialect="postgresql"))
# PostgreSQL: the trigram operator classes of the indexes above.
event.listen(Base.metadata, "before_create",
             DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"))
