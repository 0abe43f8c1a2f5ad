"""Documents: uploaded files attached to an owner (an application, later findings evidence …).

The bytes live in the storage backend under their SHA-256 (``core.storage``); a row carries the
sanitised name the user gave, the type detected from the content, who may see it and whether it
is still current. Deleting is soft: a document is superseded, never removed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from accreditor.core.db import Base, TimestampMixin
from accreditor.core.storage import ScanStatus
from accreditor.core.tenancy import CabScoped, TenantScoped

__all__ = ["Confidentiality", "Document", "ScanStatus"]


class Confidentiality(StrEnum):
    internal = "internal"  # the AB's staff only
    cab = "cab"  # staff and the CAB's own users
    public = "public"  # may be published (e.g. a scope schedule); still served through checks


class Document(TenantScoped, CabScoped, TimestampMixin, Base):
    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_owner", "tenant_id", "owner_type", "owner_id"),
        CheckConstraint("confidentiality IN ('internal', 'cab', 'public')",
                        name="confidentiality_known"),
        CheckConstraint("scan_status IN ('not_scanned', 'pending', 'clean', 'infected')",
                        name="scan_status_known"),
        CheckConstraint("size >= 0", name="size_not_negative"),
        CheckConstraint("superseded_by_id IS NULL OR superseded_at IS NOT NULL",
                        name="superseded_by_needs_superseded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # NULL: a document of the AB itself (no CAB); CAB users never see those.
    cab_id: Mapped[int | None] = mapped_column(  # type: ignore[assignment]
        ForeignKey("cabs.id", ondelete="RESTRICT"), index=True
    )
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))
    original_name: Mapped[str] = mapped_column(String(255))
    owner_type: Mapped[str] = mapped_column(String(40))
    owner_id: Mapped[int]
    confidentiality: Mapped[str] = mapped_column(String(20), default=Confidentiality.cab)
    # NULL for system uploads (CLI, demo data, jobs).
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    superseded_at: Mapped[datetime | None]
    superseded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="RESTRICT")
    )
    scan_status: Mapped[str] = mapped_column(String(20), default=ScanStatus.not_scanned)

    @property
    def is_current(self) -> bool:
        return self.superseded_at is None

    @property
    def is_downloadable(self) -> bool:
        """Not while a scan is pending or after it found something."""
        return self.scan_status in (ScanStatus.not_scanned, ScanStatus.clean)

    @property
    def size_label(self) -> str:
        from accreditor.core.storage import format_size

        return format_size(self.size)

    def __repr__(self) -> str:
        return f"<Document {self.id} {self.original_name!r} {self.owner_type}#{self.owner_id}>"
