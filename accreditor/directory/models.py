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
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
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
