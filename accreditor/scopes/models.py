"""Accreditations (one per CAB per programme), their typed scope items and the scope history."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accreditor.core.db import Base, TimestampMixin, utcnow
from accreditor.core.tenancy import CabScoped, TenantScoped


class AccreditationStatus(StrEnum):
    applicant = "applicant"
    accredited = "accredited"
    partially_suspended = "partially_suspended"
    suspended = "suspended"
    withdrawn = "withdrawn"
    voluntarily_withdrawn = "voluntarily_withdrawn"
    expired = "expired"
    refused = "refused"
    lapsed = "lapsed"
    inactive = "inactive"  # at the CAB's written request, lines kept (rule 22)


# Accreditations still "live" (a CAB may hold one per programme at a time).
LIVE_STATUSES = frozenset({
    AccreditationStatus.applicant, AccreditationStatus.accredited,
    AccreditationStatus.partially_suspended, AccreditationStatus.suspended,
    AccreditationStatus.inactive,
})


class ItemStatus(StrEnum):
    applied = "applied"
    accredited = "accredited"
    suspended = "suspended"
    withdrawn = "withdrawn"
    reduced = "reduced"  # removed from the scope at the CAB's request or by decision
    expired = "expired"
    refused = "refused"


# Lines still part of the scope or asked for: what witnesses and authorisations may name.
LIVE_ITEM_STATUSES = (ItemStatus.applied.value, ItemStatus.accredited.value,
                      ItemStatus.suspended.value)


class ReasonCode(StrEnum):
    grant = "grant"
    extension = "extension"
    reinstatement = "reinstatement"
    imposed = "imposed"
    voluntary = "voluntary"
    financial = "financial"
    transition_missed = "transition_missed"
    nc_not_closed = "nc_not_closed"
    integrity = "integrity"
    reduction = "reduction"
    withdrawal = "withdrawal"
    expiry = "expiry"
    refusal = "refusal"


# Which item status changes a scope event may make (the decisions issue calls these).
ITEM_TRANSITIONS: dict[ItemStatus, set[ItemStatus]] = {
    ItemStatus.applied: {ItemStatus.accredited, ItemStatus.refused},
    ItemStatus.accredited: {ItemStatus.suspended, ItemStatus.withdrawn, ItemStatus.reduced,
                            ItemStatus.expired},
    ItemStatus.suspended: {ItemStatus.accredited, ItemStatus.withdrawn, ItemStatus.reduced,
                           ItemStatus.expired},
    ItemStatus.withdrawn: set(),
    ItemStatus.reduced: set(),
    ItemStatus.expired: set(),
    ItemStatus.refused: set(),
}


class IbType(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class Accreditation(TenantScoped, CabScoped, TimestampMixin, Base):
    __tablename__ = "accreditations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        CheckConstraint("ib_type IS NULL OR ib_type IN ('A', 'B', 'C')", name="ib_type_abc"),
        CheckConstraint("expiry_on IS NULL OR (cycle_end_on IS NOT NULL AND expiry_on <= cycle_end_on)",
                        name="expiry_within_cycle"),
        CheckConstraint("cycle_end_on IS NULL OR (cycle_start_on IS NOT NULL AND "
                        "cycle_end_on > cycle_start_on)", name="cycle_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("standard_editions.id"))
    number: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(30), default=AccreditationStatus.applicant,
                                        index=True)
    ib_type: Mapped[str | None] = mapped_column(String(1))
    initial_grant_on: Mapped[date | None]
    cycle_start_on: Mapped[date | None]
    cycle_end_on: Mapped[date | None]
    expiry_on: Mapped[date | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    cab = relationship("Cab", lazy="raise")
    programme = relationship("Programme", lazy="raise")
    edition = relationship("StandardEdition", lazy="raise")

    @property
    def status_enum(self) -> AccreditationStatus:
        return AccreditationStatus(self.status)

    @property
    def is_live(self) -> bool:
        return self.status_enum in LIVE_STATUSES

    @property
    def can_edit_scope_freely(self) -> bool:
        """Before the first grant, lines can be added, changed and removed without history."""
        return self.status_enum == AccreditationStatus.applicant


class ScopeItem(TenantScoped, CabScoped, TimestampMixin, Base):
    __tablename__ = "scope_items"
    __table_args__ = (Index("ix_scope_items_accreditation_position", "accreditation_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    accreditation_id: Mapped[int] = mapped_column(ForeignKey("accreditations.id"))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(20), default=ItemStatus.applied)
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    summary: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    accreditation = relationship("Accreditation", lazy="raise")

    @property
    def status_enum(self) -> ItemStatus:
        return ItemStatus(self.status)


class ScopeEvent(TenantScoped, CabScoped, Base):
    """One status change of one scope item, effective on a date: the scope history."""

    __tablename__ = "scope_events"
    __table_args__ = (Index("ix_scope_events_item_effective", "scope_item_id", "effective_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    accreditation_id: Mapped[int] = mapped_column(ForeignKey("accreditations.id"), index=True)
    scope_item_id: Mapped[int] = mapped_column(ForeignKey("scope_items.id"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    effective_on: Mapped[date]
    reason_code: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    decision_id: Mapped[int | None]  # the decisions issue adds the foreign key
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NumberCounter(TenantScoped, Base):
    """Monotonic counters behind accreditation numbers: numbers are never reused."""

    __tablename__ = "number_counters"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60))
    value: Mapped[int] = mapped_column(default=0)
