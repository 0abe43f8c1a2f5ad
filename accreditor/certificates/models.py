"""Rendered certificates and schedules of accreditation: one row per schedule version and kind.

The PDF bytes live in storage as a ``documents`` row (owner type ``schedule_version``) so every
download goes through the documents access rule; this row says which version and kind it is,
its SHA-256, page count and when it was rendered. It is written once by the render job and
never changed or deleted (a re-run of the job finds it and does nothing).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from accreditor.core.db import Base, utcnow
from accreditor.core.tenancy import CabScoped, TenantScoped

# The documents row's owner type of a rendered PDF (its owner id is the schedule version).
OWNER_TYPE = "schedule_version"


class DocumentKind(StrEnum):
    schedule = "schedule"
    certificate = "certificate"


class RenderedDocument(TenantScoped, CabScoped, Base):
    __tablename__ = "rendered_documents"
    __table_args__ = (
        UniqueConstraint("schedule_version_id", "kind"),
        CheckConstraint("kind IN ('schedule', 'certificate')", name="kind_known"),
        CheckConstraint("page_count > 0", name="page_count_positive"),
        CheckConstraint("size > 0", name="size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    accreditation_id: Mapped[int] = mapped_column(ForeignKey("accreditations.id"), index=True)
    schedule_version_id: Mapped[int] = mapped_column(ForeignKey("schedule_versions.id"))
    kind: Mapped[str] = mapped_column(String(20))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    page_count: Mapped[int]
    rendered_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<RenderedDocument {self.kind} of version {self.schedule_version_id}>"


class ImmutableDocument(RuntimeError):
    """Something tried to change or delete a rendered document (a programming error)."""


@event.listens_for(RenderedDocument, "before_update")
def _refuse_update(mapper, connection, target) -> None:
    raise ImmutableDocument(f"{target!r} is immutable")


@event.listens_for(RenderedDocument, "before_delete")
def _refuse_delete(mapper, connection, target) -> None:
    raise ImmutableDocument(f"{target!r} is immutable")
