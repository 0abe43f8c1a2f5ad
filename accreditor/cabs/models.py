"""CABs (the legal entities an AB accredits), their locations and contacts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from accreditor.core.db import Base, TimestampMixin, utcnow
from accreditor.core.tenancy import CabScoped, TenantScoped


class LocationKind(StrEnum):
    permanent = "permanent"
    site = "site"
    mobile = "mobile"
    virtual = "virtual"


class Cab(TenantScoped, CabScoped, TimestampMixin, Base):
    __tablename__ = "cabs"

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id = synonym("id")  # CabScoped: a CAB user sees only their own CAB
    legal_name: Mapped[str] = mapped_column(String(250), index=True)
    trading_names: Mapped[list] = mapped_column(JSON, default=list)
    registration_number: Mapped[str | None] = mapped_column(String(80))
    country: Mapped[str] = mapped_column(String(2), index=True)
    website: Mapped[str | None] = mapped_column(String(300))
    related_bodies: Mapped[str | None] = mapped_column(Text)
    consultants_used: Mapped[str | None] = mapped_column(Text)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # Organisation number for A2LA-style accreditation numbers ("{seq}.{programme_seq:02d}").
    org_number: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    locations: Mapped[list[CabLocation]] = relationship(
        back_populates="cab", lazy="raise", order_by="CabLocation.code"
    )
    contacts: Mapped[list[CabContact]] = relationship(back_populates="cab", lazy="raise")
    manager = relationship("User", lazy="raise")

    @property
    def trading_names_text(self) -> str:
        return ", ".join(self.trading_names or [])

    def __repr__(self) -> str:
        return f"<Cab {self.legal_name}>"


class CabLocation(TenantScoped, CabScoped, Base):
    __tablename__ = "cab_locations"
    __table_args__ = (UniqueConstraint("cab_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(10))  # location code used on schedules: "A", "B" …
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2))
    activities: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20), default=LocationKind.permanent)
    is_critical: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    cab: Mapped[Cab] = relationship(back_populates="locations", lazy="raise")

    @property
    def label(self) -> str:
        return f"{self.code} – {self.name}"


class CabContact(TenantScoped, CabScoped, Base):
    __tablename__ = "cab_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(60))
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)  # shown in the directory

    cab: Mapped[Cab] = relationship(back_populates="contacts", lazy="raise")
