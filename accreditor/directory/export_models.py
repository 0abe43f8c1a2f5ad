"""The record of each open-data file of the directory (issue 7 point 5).

One current row per (AB, format) — ``tenant_id`` NULL for the global files of every active AB.
The bytes are a content-addressed blob (``core.storage``); a regeneration adds the new row and
marks the older rows of the same AB and format ``superseded_at``. The periodic job deletes a
superseded row once it is older than ``exports.PRUNE_AFTER``, and its blob unless something
still refers to the same bytes (``exports.prune_superseded``); a job that fails records the
blobs it wrote the same way (platform rows, already superseded). A global row's ``sources``
lists the AB files it was assembled from (``"<tenant id>:<sha256>"``): the assembly is skipped
while that set is unchanged, and redone when an AB publishes, is deactivated or reactivated.

The rows are tenant-scoped with platform rows allowed (as audit events): inside a tenant the
tenancy filter shows only that AB's files; the global rows are read with ``ALL_TENANTS`` and an
explicit ``tenant_id IS NULL``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from accreditor.core.db import Base, utcnow
from accreditor.core.tenancy import TenantScoped

FORMATS = ("csv", "jsonl")


class DirectoryExport(TenantScoped, Base):
    """One generated open-data file: which AB (NULL: all), which format, when, its blob."""

    __tablename__ = "directory_exports"
    __allow_platform_rows__ = True
    __table_args__ = (
        CheckConstraint("format IN ('csv', 'jsonl')", name="format_known"),
        Index("ix_directory_exports_tenant_format", "tenant_id", "format", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(  # type: ignore[assignment]
        ForeignKey("tenants.id", ondelete="RESTRICT")
    )  # no index of its own: ix_directory_exports_tenant_format starts with it
    format: Mapped[str] = mapped_column(String(10))
    generated_at: Mapped[datetime] = mapped_column(default=utcnow)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int]
    sources: Mapped[list | None] = mapped_column(JSON)  # global files: the AB files used
    superseded_at: Mapped[datetime | None]  # replaced (or left by a failed job) at

    @property
    def filename(self) -> str:
        return f"accreditations.{self.format}"
