"""Reference data. Platform rows (tenant_id NULL) are seeded by ``flask refdata load``; a tenant
adds or overrides rows for itself (TenantExtensible), never touching other tenants."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accreditor.core.db import Base
from accreditor.core.tenancy import TenantExtensible


class ScopeType(StrEnum):
    """How a programme's scope lines are structured (DOMAIN.md §3)."""

    testing = "testing"
    calibration = "calibration"
    inspection = "inspection"
    ms_certification = "ms_certification"
    person_certification = "person_certification"
    generic = "generic"


class Classification(StrEnum):
    """Which technical-area list a management-system standard's scope lines use (rule 33)."""

    iaf = "iaf"  # IAF codes 1-39 required (ISO 9001, 14001, 45001)
    iaf_optional = "iaf_optional"  # scope by standard; IAF codes only to match competence (27001)
    food_chain = "food_chain"  # ISO/TS 22003-1 categories (ISO 22000, FSSC 22000)
    md9 = "md9"  # IAF MD 9 technical areas (ISO 13485)
    none = "none"  # scope by standard only (e.g. ISO 50001 until 50003 areas are listed)


class TermKind(StrEnum):
    iaf_code = "iaf_code"
    food_chain = "food_chain"
    md9_area = "md9_area"
    testing_field = "testing_field"
    calibration_discipline = "calibration_discipline"
    inspection_field = "inspection_field"
    inspection_stage = "inspection_stage"


CLASSIFICATION_KIND = {
    Classification.iaf: TermKind.iaf_code,
    Classification.iaf_optional: TermKind.iaf_code,
    Classification.food_chain: TermKind.food_chain,
    Classification.md9: TermKind.md9_area,
}


class Programme(TenantExtensible, Base):
    """An accreditation programme: the standard a CAB is accredited to and its scope type."""

    __tablename__ = "programmes"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20))  # "17025-C"
    name: Mapped[str] = mapped_column(String(120))  # "Calibration laboratories"
    standard: Mapped[str] = mapped_column(String(60))  # "ISO/IEC 17025"
    scope_type: Mapped[str] = mapped_column(String(30))
    number_code: Mapped[str] = mapped_column(String(10))  # "{programme}" in number formats
    needs_ib_type: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(default=100)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    editions: Mapped[list[StandardEdition]] = relationship(
        back_populates="programme", lazy="raise", order_by="StandardEdition.edition"
    )

    @property
    def type(self) -> ScopeType:
        return ScopeType(self.scope_type)


class StandardEdition(TenantExtensible, Base):
    __tablename__ = "standard_editions"
    __table_args__ = (UniqueConstraint("tenant_id", "programme_id", "edition"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    edition: Mapped[str] = mapped_column(String(20))  # "2017"
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    transition_deadline: Mapped[date | None]

    programme: Mapped[Programme] = relationship(back_populates="editions", lazy="raise")


class MsStandard(TenantExtensible, Base):
    """A management-system standard a 17021-1 CB certifies to (ISO 9001:2015 …)."""

    __tablename__ = "ms_standards"
    __table_args__ = (UniqueConstraint("tenant_id", "code", "edition"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))  # "ISO 9001"
    edition: Mapped[str] = mapped_column(String(20))  # "2015"
    title: Mapped[str] = mapped_column(String(200))
    classification: Mapped[str] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def label(self) -> str:
        return f"{self.code}:{self.edition}"


class RefTerm(TenantExtensible, Base):
    """One entry of a reference list (an IAF code, a testing field …). ``group`` is the cluster
    or category; ``extra`` holds list-specific data (NACE for IAF codes, units for calibration
    disciplines). A tenant row with the same kind and code overrides the platform row."""

    __tablename__ = "ref_terms"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    group: Mapped[str | None] = mapped_column(String(120))
    is_critical: Mapped[bool] = mapped_column(Boolean, default=False)
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    source: Mapped[str | None] = mapped_column(String(120))  # the document version it came from
    sort_order: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def label(self) -> str:
        return f"{self.code} – {self.name}" if self.kind == TermKind.iaf_code else self.name
