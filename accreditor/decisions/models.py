"""Decisions, who took them, what they rest on and what they act on; schedule versions.

A decision is recorded once and never changes: a later decision (an appeal's outcome, a
reinstatement) is a new row. Each decision that changes the scope issues a new schedule version
(issue number + 1, rule 28) holding the lines as they then stand.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
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
    extend_suspension = "extend_suspension"  # a current suspension's maximum moved (rule 18)
    inactive = "inactive"  # on the CAB's written request (rule 22)
    reactivate = "reactivate"  # an inactive accreditation active again


# Kinds that change the scope, and so issue a new schedule version.
SCOPE_CHANGING = frozenset({DecisionKind.grant, DecisionKind.extend, DecisionKind.reduce,
                            DecisionKind.suspend, DecisionKind.reinstate, DecisionKind.withdraw,
                            DecisionKind.inactive, DecisionKind.reactivate})
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
        CheckConstraint(
            "kind <> 'extend_suspension' OR (suspension_id IS NOT NULL "
            "AND max_end_on IS NOT NULL)", name="extension_targets"),  # rule 18
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
    # The suspension an extension extends or a reinstatement lifts (rule 18)
    suspension_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), index=True)
    # The CAB's request it answers (resignation, inactive status, reactivation: rules 22, 39)
    cab_request_id: Mapped[int | None] = mapped_column(ForeignKey("cab_requests.id"),
                                                       index=True)
    # A clean surveillance outcome confirmed on the lighter path (issue 6 point 1)
    light_path: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


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


class RequestKind(StrEnum):
    resignation = "resignation"  # voluntary withdrawal, full or partial (rule 39)
    inactive = "inactive"  # inactive status, in writing (rule 22)
    reactivation = "reactivation"  # end of the inactive status


class RequestStatus(StrEnum):
    submitted = "submitted"  # awaits the AB
    accepted = "accepted"  # a resignation accepted, awaiting its effective date
    carried_out = "carried_out"  # its decision is recorded
    declined = "declined"  # the AB said no, with its reason
    withdrawn = "withdrawn"  # the CAB took it back before it took effect
    lapsed = "lapsed"  # could not be carried out (the accreditation ended otherwise)


OPEN_REQUEST_STATUSES = (RequestStatus.submitted.value, RequestStatus.accepted.value)


class CabRequest(TenantScoped, CabScoped, TimestampMixin, Base):
    """A CAB's written request about its accreditation: resignation, inactive status,
    reactivation. The decision that carries it out points back (``Decision.cab_request_id``)."""

    __tablename__ = "cab_requests"
    __table_args__ = (
        CheckConstraint("kind IN ('resignation', 'inactive', 'reactivation')", name="kind"),
        CheckConstraint("status IN ('submitted', 'accepted', 'carried_out', 'declined', "
                        "'withdrawn', 'lapsed')", name="status"),
        CheckConstraint("kind <> 'resignation' OR (effective_on IS NOT NULL AND extent IS NOT "
                        "NULL)", name="resignation_dated"),  # rule 39
        CheckConstraint("extent IS NULL OR extent IN ('full', 'partial')", name="extent"),
        Index("ix_cab_requests_accreditation_status", "accreditation_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cab_id: Mapped[int] = mapped_column(ForeignKey("cabs.id"), index=True)
    accreditation_id: Mapped[int] = mapped_column(ForeignKey("accreditations.id"))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.submitted)
    reason: Mapped[str] = mapped_column(Text)
    # Resignations: full or partial (the lines named), from this date (rule 39)
    extent: Mapped[str | None] = mapped_column(String(10))
    scope_item_ids: Mapped[list] = mapped_column(JSON, default=list)
    effective_on: Mapped[date | None]
    # A certification body's arrangements to protect its certified clients (IAF MD 2); a file
    # may be attached as well (documents, owner type "cab_request")
    client_protection: Mapped[str | None] = mapped_column(Text)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The AB's answer
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(Text)
    # The decision makers who accepted a resignation: its withdrawal is recorded in their names
    # on the effective date
    maker_ids: Mapped[list] = mapped_column(JSON, default=list)
    closed_at: Mapped[datetime | None]
