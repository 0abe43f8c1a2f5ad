"""Decisions, who took them, what they rest on and what they act on; schedule versions.

A decision is recorded once and never changes: a later decision (an appeal's outcome, a
reinstatement) is a new row. Each decision that changes the scope issues a new schedule version
(issue number + 1, rule 28) holding the lines as they then stand.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from accreditor.core.db import Base, TimestampMixin, utcnow
from accreditor.core.tenancy import CabScoped, TenantScoped


class DecisionKind(StrEnum):
    grant = "grant"  # initial accreditation of applied lines
    extend = "extend"  # applied lines added to a live accreditation
    maintain = "maintain"  # surveillance / reassessment outcome: the scope stays
    reduce = "reduce"
    suspend = "suspend"
    reinstate = "reinstate"  # lift a suspension
    withdraw = "withdraw"
    refuse = "refuse"  # applied lines refused
    follow_up = "follow_up"  # no decision yet: a follow-up assessment is required


# Kinds that change the scope, and so issue a new schedule version.
SCOPE_CHANGING = frozenset({DecisionKind.grant, DecisionKind.extend, DecisionKind.reduce,
                            DecisionKind.suspend, DecisionKind.reinstate, DecisionKind.withdraw})
# Kinds the findings gate applies to (rule 13).
GRANTING = frozenset({DecisionKind.grant, DecisionKind.extend})


class SuspensionType(StrEnum):
    imposed = "imposed"
    voluntary = "voluntary"
    financial = "financial"


class Extent(StrEnum):
    full = "full"
    partial = "partial"


class Decision(TenantScoped, CabScoped, TimestampMixin, Base):
    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint(
            "kind <> 'suspend' OR (suspension_type IS NOT NULL AND extent IS NOT NULL "
            "AND max_end_on IS NOT NULL)", name="suspension_typed"),  # rules 18, 19
        Index("ix_decisions_accreditation_effective", "accreditation_id", "effective_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    accreditation_id: Mapped[int] = mapped_column(ForeignKey("accreditations.id"))
    kind: Mapped[str] = mapped_column(String(20))
    rationale: Mapped[str] = mapped_column(Text)
    effective_on: Mapped[date]
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The recommendation it answers (the report of that assessment), if any
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"), index=True)
    # Suspensions (rules 18, 19)
    suspension_type: Mapped[str | None] = mapped_column(String(20))
    extent: Mapped[str | None] = mapped_column(String(10))
    location_codes: Mapped[list] = mapped_column(JSON, default=list)
    max_end_on: Mapped[date | None]
    # Set once by the daily job when the suspension reached ``max_end_on`` unresolved (rule 18)
    max_end_flagged_on: Mapped[date | None]
    # The schedule issue it produced (None: the scope did not change)
    schedule_issue: Mapped[int | None]


class DecisionMaker(TenantScoped, CabScoped, Base):
    """A person who took the decision: the decision maker, or each member of a committee."""

    __tablename__ = "decision_makers"
    __table_args__ = (UniqueConstraint("decision_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)


class DecisionInput(TenantScoped, CabScoped, Base):
    """An assessment cited as input to the decision (its report, team and findings)."""

    __tablename__ = "decision_inputs"
    __table_args__ = (UniqueConstraint("decision_id", "assessment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)


class DecisionItem(TenantScoped, CabScoped, Base):
    """A scope line the decision acts on."""

    __tablename__ = "decision_items"
    __table_args__ = (UniqueConstraint("decision_id", "scope_item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), index=True)
    scope_item_id: Mapped[int] = mapped_column(ForeignKey("scope_items.id"))


class ScheduleVersion(TenantScoped, CabScoped, Base):
    """One issue of the schedule of accreditation: immutable, numbered per accreditation."""

    __tablename__ = "schedule_versions"
    __table_args__ = (UniqueConstraint("accreditation_id", "issue_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    accreditation_id: Mapped[int] = mapped_column(ForeignKey("accreditations.id"), index=True)
    issue_no: Mapped[int]
    issued_on: Mapped[date]
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    status: Mapped[str] = mapped_column(String(30))  # the accreditation's status then
    # The lines then in scope: [{"id", "position", "status", "summary", "fields"}, …]
    lines: Mapped[list] = mapped_column(JSON, default=list)
    # What the certificate and schedule show besides the lines, as it stood at issue (CAB name
    # and addresses, locations, standard and edition, dates …): the PDFs render from this.
    details: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
